"""What `promote` and `rollback` share: find the version, run the service, report."""

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training import errors
from training.models import ModelVersion


class VersionCommand(BaseCommand):
    # The service call (versions.promote or versions.rollback) and the line
    # printed when it succeeds, with {pk} for the version's id.
    action: Callable[[ModelVersion, None], object]
    done: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        version = ModelVersion.objects.filter(pk=options["version_id"]).first()
        if version is None:
            raise CommandError(f"no model version {options['version_id']}")
        try:
            self.action(version, None)
        except errors.PromotionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(self.done.format(pk=version.pk)))

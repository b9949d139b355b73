from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.models import ModelVersion
from training.services import versions


class Command(BaseCommand):
    help = "Make a model version active; the catalogue is then re-scored by a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version_id", type=int)

    def handle(self, *args: object, **options: object) -> None:
        version = ModelVersion.objects.filter(pk=options["version_id"]).first()
        if version is None:
            raise CommandError(f"no model version {options['version_id']}")
        try:
            versions.promote(version, None)
        except versions.PromotionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"v{version.pk} is active; re-scoring queued"))

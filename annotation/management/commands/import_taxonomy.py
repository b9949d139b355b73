from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import TaxonomyError
from annotation.services.taxonomy import import_taxonomy


class Command(BaseCommand):
    help = (
        'Create or update facets and tags from a JSON file {"facets": [{"name", '
        '"display_name_en", "display_name_zh", "multi_valued", "description", "tags": '
        '[{"name", "display_name_en", "display_name_zh", "aliases", "description"}]}]}. '
        "Idempotent. A new facet's name must follow the rule for facet names (letters of "
        "any script and digits, with single spaces, _, - or / between words); an existing "
        "facet keeps its name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = import_taxonomy(path)
        except TaxonomyError as exc:
            reason = str(exc).rstrip(".")
            raise CommandError(f"{path}: {reason}; nothing was saved") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"facets: {result.facets_created} created, {result.facets_updated} updated; "
                f"tags: {result.tags_created} created, {result.tags_updated} updated"
            )
        )

"""Import a catalogue file from the command line, inline (the admin upload
page queues the same service in a worker). The same caps apply: the settings
TAGGER_IMPORT_MAX_* (docs/security.md, "Uploads")."""

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.services.importing import (
    FORMATS,
    CreatedTaxonomy,
    ImportProgress,
    created_taxonomy,
    import_products,
)
from annotation.services.taxonomy import facet_name_problem

SHOWN_ERRORS = 20


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not (sep and source.strip() and target.strip()):
            raise CommandError(f"--map expects SOURCE=TARGET (for example sku=id), got {pair!r}")
        mapping[source.strip()] = target.strip()
    return mapping


def _names(count: int, names: list[str]) -> str:
    """`count` and the names shown, saying when they are only the first."""
    shown = ", ".join(names)
    if count > len(names):
        return f"{count} (the first {len(names)}: {shown})"
    return f"{count} ({shown})"


def created_lines(created: CreatedTaxonomy) -> list[str]:
    """What the import added to the taxonomy, as the result page says it:
    nothing when it added nothing."""
    lines: list[str] = []
    if created.facet_count:
        lines.append(f"new facets: {_names(created.facet_count, [g.name for g in created.facets])}")
    if created.tag_count:
        lines.append(f"new tags: {_names(created.tag_count, [t.key for t in created.tags])}")
    for facet in created.irregular_facets:
        lines.append(
            f"warning: {facet_name_problem(facet.name)} The import created the facet anyway: "
            "correct the name in the file, or rename the facet in the admin."
        )
    return lines


def _advance(bar: "tqdm[None]", report: ImportProgress) -> None:
    if report.new_rows:
        bar.update(report.new_rows)


class Command(BaseCommand):
    help = (
        "Import products from a CSV, JSONL or JSON file (optionally gzipped). "
        "Products are upserted by id; columns that match no product field are kept "
        "as attributes. All-or-nothing unless --keep-valid. Prints what the import added "
        "to the taxonomy (new facets and tags)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--keep-valid",
            action="store_true",
            help="Write the valid rows even when some rows are rejected.",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SRC=DST",
            help="Read column SRC as field DST (repeatable), e.g. --map sku=id --map name=title.",
        )
        parser.add_argument("--format", choices=FORMATS, help="Override format detection.")
        parser.add_argument("--user", help="Record this username as the importer.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        mapping = _mapping(options["map"])
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user named {options['user']!r}")
        # tqdm turns itself off when stderr is not a terminal (cron, CI logs).
        with tqdm(desc=path.name, unit=" rows", file=sys.stderr, disable=None) as bar:
            result = import_products(
                path,
                fmt=options["format"],
                mapping=mapping,
                keep_valid=options["keep_valid"],
                user=user,
                progress=lambda report: _advance(bar, report),
            )
        summary = f"{result.summary()} (batch {result.batch.pk})"
        if result.succeeded:
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            self.stdout.write(summary)
        for line in created_lines(created_taxonomy(result.batch)):
            self.stdout.write(line)
        for error in result.errors[:SHOWN_ERRORS]:
            self.stdout.write(str(error))
        more = len(result.errors) + result.omitted_errors - SHOWN_ERRORS
        if more > 0:
            self.stdout.write(f"… and {more} more errors")
        if not result.succeeded:
            raise CommandError("the import failed: nothing was saved", returncode=1)

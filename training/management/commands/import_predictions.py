"""Import outside predictions as suggestions of a named external model version."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.services import predictions


def read_predictions(path: Path) -> list[predictions.Prediction]:
    """A JSON list or JSON lines of {"product", "tag", "score"} objects."""
    text = path.read_text(encoding="utf-8")
    try:
        stripped = text.lstrip()
        rows: Any = (
            json.loads(text)
            if stripped.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not JSON or JSON lines ({exc})") from exc
    found = []
    for number, row in enumerate(rows, start=1):
        try:
            found.append(
                predictions.Prediction(str(row["product"]), str(row["tag"]), float(row["score"]))
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(
                f"{path}: prediction {number} needs product, tag and a numeric score"
            ) from exc
    return found


class Command(BaseCommand):
    help = (
        "Import predictions made outside Tagger (JSON or JSON lines of product, tag, "
        "score) as suggestions of an external model version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--model-version", required=True, help="the outside model's name")
        parser.add_argument("--threshold", type=float, default=0.5)

    def handle(self, *args: Any, **options: Any) -> None:
        rows = read_predictions(options["file"])
        try:
            result = predictions.import_predictions(
                options["model_version"], rows, threshold=options["threshold"]
            )
        except predictions.InvalidPredictions as exc:
            raise CommandError(str(exc)) from exc
        for index, reason in result.errors:
            self.stderr.write(f"prediction {index + 1}: {reason}")
        self.stdout.write(
            f"v{result.version.pk} ({result.version.base_model}): {result.created} created, "
            f"{result.updated} updated, {result.rejected} rejected"
        )

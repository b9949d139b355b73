"""How long a catalogue import takes: a first import into an empty database,
then the same file again (every row unchanged).

    .venv/bin/python bench/import_catalogue.py
    .venv/bin/python bench/import_catalogue.py --file ../shared/data/zh_openbg_taobao.jsonl.gz
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/import_catalogue.py

SQLite runs in a fresh temporary file. On PostgreSQL the script creates the tables
in the named database, which must be empty (it drops them again at the end).
Prints the figures and writes them to bench/out/import_catalogue-<vendor>.json.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TAGGER_VAR_DIR", tempfile.mkdtemp(prefix="tagger-bench-"))
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")

import django  # noqa: E402

django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection  # noqa: E402

from annotation.models import Product, ProductTag, ReviewEvent, Tag  # noqa: E402
from annotation.services.importing import import_products  # noqa: E402

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "en_myntra_fashion_15k.jsonl.gz"


def create_schema() -> list:
    """Tables straight from the models, so the bench does not depend on the
    state of the migration files."""
    models = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
    with connection.schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    return models


def drop_schema(models: list) -> None:
    with connection.schema_editor() as editor:
        for model in reversed(models):
            editor.delete_model(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found: put the shared data beside the project")
    vendor = connection.vendor
    out = args.out or ROOT / "bench" / "out" / f"import_catalogue-{vendor}.json"

    models = create_schema()
    try:
        runs = []
        for label in ("first", "again"):
            start = time.perf_counter()
            result = import_products(args.file)
            seconds = round(time.perf_counter() - start, 2)
            runs.append(
                {
                    "run": label,
                    "seconds": seconds,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "rejected": result.rejected,
                }
            )
            print(f"{label:6s} {seconds:7.2f} s  {result.summary()}")
        figures = {
            "file": args.file.name,
            "database": vendor,
            "products": Product.objects.count(),
            "tags": Tag.objects.count(),
            "product_tags": ProductTag.objects.count(),
            "review_events": ReviewEvent.objects.count(),
            "runs": runs,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        }
    finally:
        if vendor != "sqlite":
            drop_schema(models)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

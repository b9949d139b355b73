"""How long the review queue takes on a large catalogue: queueing, re-ranking
(score matrix + strategy + writing priorities) and claiming.

    .venv/bin/python bench/queue_ranking.py --products 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/queue_ranking.py

SQLite runs in a fresh temporary file. On PostgreSQL the script creates the tables
in the named database, which must be empty (it drops them again at the end).
Prints the figures and writes them to bench/out/queue_ranking-<vendor>.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TAGGER_VAR_DIR", tempfile.mkdtemp(prefix="tagger-bench-"))
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.apps import apps  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from annotation.models import (  # noqa: E402
    Product,
    ProjectSettings,
    QueueEntry,
    Suggestion,
    Tag,
    TagGroup,
)
from annotation.services import queue  # noqa: E402
from training.models import ModelVersion  # noqa: E402
from training.services import ranking  # noqa: E402


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


def timed(label: str, results: dict, fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    results[label] = round(time.perf_counter() - start, 3)
    print(f"{label:32s} {results[label]:8.3f} s")
    return value


def insert_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Raw inserts (COPY on PostgreSQL): the ORM's per-object cost would dominate
    the set-up of a 100k catalogue."""
    names = ", ".join(columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                (tuple(adapt(v) if isinstance(v, datetime) else v for v in row) for row in rows),
            )


def build_catalogue(n_products: int, n_tags: int, per_product: int, seed: int) -> ModelVersion:
    rng = np.random.default_rng(seed)
    groups = [TagGroup.objects.create(name=f"facet{g}") for g in range(max(1, n_tags // 25))]
    tags = Tag.objects.bulk_create(
        [Tag(group=groups[i % len(groups)], name=f"tag{i}") for i in range(n_tags)]
    )
    keys = [f"{groups[i % len(groups)].name}:tag{i}" for i in range(n_tags)]
    version = ModelVersion.objects.create(
        mode="head",
        status="active",
        base_model="bench",
        tag_vocab=keys,
        thresholds={k: float(t) for k, t in zip(keys, rng.uniform(0.2, 0.6, n_tags), strict=True)},
    )
    now = timezone.now()
    product_columns = (
        "external_id", "title", "description", "brand", "category_path", "attributes",
        "image_url", "language", "normalized_text", "content_hash", "is_eval",
        "created_at", "updated_at",
    )  # fmt: skip
    insert_rows(
        Product._meta.db_table,
        product_columns,
        (
            (
                f"p{i}",
                f"Product {i}",
                "",
                "",
                "",
                "{}",
                "",
                "",
                f"product {i}",
                f"h{i}",
                False,
                now,
                now,
            )
            for i in range(n_products)
        ),
    )
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    tag_ids = [t.pk for t in tags]

    def suggestion_rows():
        for pid in product_ids:
            chosen = rng.choice(n_tags, size=per_product, replace=False)
            for t, score in zip(chosen, rng.random(per_product), strict=True):
                yield (pid, tag_ids[t], version.pk, float(score), bool(score > 0.5), "[]", now)

    insert_rows(
        Suggestion._meta.db_table,
        ("product_id", "tag_id", "model_version_id", "score", "selected", "evidence", "created_at"),
        suggestion_rows(),
    )
    return version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--per-product", type=int, default=8, help="suggestions per product")
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    models = create_schema()
    results: dict = {
        "vendor": connection.vendor,
        "products": args.products,
        "tags": args.tags,
        "suggestions_per_product": args.per_product,
    }
    try:
        version = timed(
            "build catalogue (setup)",
            results,
            build_catalogue,
            args.products,
            args.tags,
            args.per_product,
            args.seed,
        )
        timed("ensure_queue_entries", results, queue.ensure_queue_entries)
        if connection.vendor == "postgresql":
            # What autovacuum would have done after a bulk load.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        ids = list(
            QueueEntry.objects.filter(completed_at__isnull=True).values_list(
                "product_id", flat=True
            )
        )
        timed("score_matrix", results, ranking.score_matrix, version, ids)
        settings = ProjectSettings.load()
        settings.queue_strategy = "long_tail"
        settings.exploration_share = 0.1
        settings.save()
        timed("rank_queue (long_tail)", results, ranking.rank_queue, version, seed=args.seed)
        users = [User.objects.create_user(username=f"u{i}") for i in range(args.claims)]
        start = time.perf_counter()
        for user in users:
            queue.claim_next(user)
        per_claim = (time.perf_counter() - start) / len(users)
        results["claim_next_ms"] = round(per_claim * 1000, 2)
        print(f"{'claim_next (mean of ' + str(len(users)) + ')':32s} {per_claim * 1000:8.2f} ms")
        timed("queue_stats", results, queue.queue_stats)
    finally:
        drop_schema(models)

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"queue_ranking-{connection.vendor}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

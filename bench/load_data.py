"""The load benchmark's database: a synthetic catalogue on PostgreSQL, and the
same starting point for every run. Used by bench/load.py."""

import json
import random
import time

PASSWORD = "load-bench-password-1"


def ensure_database(url: str, rebuild: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _names(text: str) -> list[str]:
    return text.split()


FACETS = {
    # name: (single-valued, tag names)
    "category": (True, [f"Category {i}" for i in range(30)]),
    "color": (
        True,
        _names(
            "Red Blue Green Black White Grey Navy Beige Pink Purple Yellow Orange Brown Olive "
            "Teal Maroon Cream Gold Silver Khaki"
        ),
    ),
    "material": (
        False,
        _names(
            "Cotton Linen Wool Silk Denim Leather Polyester Nylon Cashmere Velvet Suede Canvas "
            "Bamboo Hemp Rayon Modal Acrylic Spandex Fleece Jersey"
        ),
    ),
    "pattern": (
        False,
        _names("Striped Checked Floral Solid Printed Polka Camo Paisley Geometric Abstract"),
    ),
    "style": (False, [f"Style {i}" for i in range(40)]),
    "audience": (True, ["Men", "Women", "Kids", "Unisex", "Teens", "Baby"]),
}
ITEMS = ["shirt", "dress", "jacket", "scarf", "bag", "sneakers", "hat", "trousers", "skirt", "coat"]
FILLER = (
    "Soft and durable, made for everyday wear. Easy care: machine wash cold. "
    "A classic fit that works for work and weekends alike."
)
SUGGESTIONS_PER_PRODUCT = 12


def copy_rows(model: type, fields: list[str], rows: list[tuple]) -> None:
    """COPY rows into the model's table (much faster than INSERT for millions)."""
    from django.db import connection

    columns = ", ".join(model._meta.get_field(f).column for f in fields)
    sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def create_taxonomy() -> dict:
    """The FACETS taxonomy as rows: {facet name: its Tags, in FACETS order}."""
    from annotation.models import Tag, TagGroup

    by_facet: dict[str, list[Tag]] = {}
    for position, (facet, (single, names)) in enumerate(FACETS.items()):
        group = TagGroup.objects.create(
            name=facet, multi_valued=not single, position=position, display_name_en=facet.title()
        )
        by_facet[facet] = [
            Tag.objects.create(group=group, name=n, display_name_en=n, aliases=[n.lower() + "s"])
            for n in names
        ]
    return by_facet


def build(products: int, labeled: int, seed: int) -> dict:
    """The synthetic catalogue (see the module docstring); returns its counts."""
    from django.db import connection
    from django.utils import timezone

    from annotation import roles
    from annotation.models import Product, ProductTag, QueueEntry, Suggestion
    from training.ml.text import text_hash
    from training.services import versions

    started = time.perf_counter()
    rng = random.Random(seed)
    roles.ensure_role_groups()
    by_facet = create_taxonomy()
    all_tags = [t for tags in by_facet.values() for t in tags]
    # A real zero-shot model (the packaged encoder over the tag names), so the
    # re-score during the run does real work; its stored scores are synthetic.
    version = versions.ensure_zero_shot_version()
    now = timezone.now()
    rows, plans = [], []
    for i in range(products):
        truth = {f: rng.choice(by_facet[f]) for f in ("color", "material", "pattern", "audience")}
        item = rng.choice(ITEMS)
        title = f"{truth['color'].name} {truth['material'].name} {item} for {truth['audience'].name} {i}"
        text = f"{title} {truth['pattern'].name} design. {FILLER}"
        rows.append(
            (f"L-{i:07d}", title, f"{truth['pattern'].name} design. {FILLER}", "LoadCo",
             "Apparel > Tops", "{}", "", "en", text, text_hash(text), False, now, now)
        )  # fmt: skip
        chosen = {t.pk: round(rng.uniform(0.55, 0.95), 3) for t in truth.values()}
        while len(chosen) < SUGGESTIONS_PER_PRODUCT:
            chosen.setdefault(rng.choice(all_tags).pk, round(rng.uniform(0.05, 0.45), 3))
        spans = {truth["color"].pk: [[0, len(truth["color"].name)]]}
        plans.append((chosen, spans, [t.pk for t in truth.values()]))
    copy_rows(
        Product,
        ["external_id", "title", "description", "brand", "category_path", "attributes",
         "image_url", "language", "normalized_text", "content_hash", "is_eval", "created_at",
         "updated_at"],
        rows,
    )  # fmt: skip
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    copy_rows(
        Suggestion,
        ["product", "tag", "model_version", "score", "selected", "evidence", "created_at"],
        [
            (pid, tag_id, version.pk, score, score >= 0.5, json.dumps(spans.get(tag_id, [])), now)
            for pid, (chosen, spans, _) in zip(ids, plans, strict=True)
            for tag_id, score in chosen.items()
        ],
    )
    labeled_ids = set(rng.sample(ids, labeled))
    copy_rows(
        ProductTag,
        ["product", "tag", "state", "source", "decided_at", "updated_at"],
        [
            (pid, tag_id, "approved", "import", now, now)
            for pid, (_, _, truth_ids) in zip(ids, plans, strict=True)
            if pid in labeled_ids
            for tag_id in truth_ids
        ],
    )
    Product.objects.filter(pk__in=labeled_ids).update(reviewed_at=now)
    copy_rows(
        QueueEntry,
        ["product", "priority", "reason", "strategy", "reviews_needed", "reviews_done"],
        [(pid, rng.random(), "uncertain", "load", 1, 0) for pid in ids if pid not in labeled_ids],
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"build_seconds": round(time.perf_counter() - started, 1), **counts()}


def counts() -> dict:
    from annotation.models import Product, ProductTag, QueueEntry, Suggestion, Tag

    return {
        "products": Product.objects.count(),
        "tags": Tag.objects.count(),
        "suggestions": Suggestion.objects.count(),
        "product_tags": ProductTag.objects.count(),
        "open_queue_entries": QueueEntry.objects.filter(completed_at__isnull=True).count(),
    }


def prepare_run(reviewers: int) -> tuple[int, list[str]]:
    """The same starting point every run: the zero-shot version active, no lease
    held, no training in flight, no overlap, no auto-promotion (the page keeps
    showing the same model throughout). Returns the zero-shot version's id and
    the reviewers' usernames (created when missing)."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from annotation import roles
    from annotation.models import ProjectSettings, QueueEntry
    from training.models import ModelVersion, TrainingRun

    zero_shot = ModelVersion.objects.filter(mode="zero_shot").exclude(status="failed").first()
    if zero_shot is None:
        raise SystemExit("no zero-shot version in the load database: run without --reuse-db")
    with transaction.atomic():
        ModelVersion.objects.filter(status="active").exclude(pk=zero_shot.pk).update(
            status="archived"
        )
        ModelVersion.objects.filter(pk=zero_shot.pk).update(status="active")
    TrainingRun.objects.filter(in_flight=True).update(
        status="failed",
        in_flight=None,
        error="stopped by the load benchmark",
        finished_at=timezone.now(),
    )
    QueueEntry.objects.filter(leased_by__isnull=False).update(leased_by=None, lease_expires_at=None)
    ProjectSettings.objects.update_or_create(
        pk=1,
        defaults={"overlap_share": 0.0, "auto_promote": False, "auto_retrain_after": 0,
                  "lease_seconds": 600},
    )  # fmt: skip
    groups = roles.ensure_role_groups()
    if not User.objects.filter(username="load-admin").exists():
        admin = User.objects.create_user("load-admin", password=PASSWORD, is_staff=True)
        admin.groups.add(groups[roles.ADMIN])
    names = [f"load-reviewer-{n:03d}" for n in range(reviewers)]
    for name in names:
        if not User.objects.filter(username=name).exists():
            User.objects.create_user(name, password=PASSWORD).groups.add(groups[roles.MERCHANDISER])
    return zero_shot.pk, names


SIZED_TABLES = (
    "annotation_product",
    "annotation_suggestion",
    "annotation_queueentry",
    "annotation_producttag",
    "annotation_reviewevent",
)


def table_sizes() -> dict:
    """Rows and bytes (heap + indexes + TOAST) of the big tables, for sizing."""
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in SIZED_TABLES:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            rows, size = cursor.fetchone()
            sizes[table] = {
                "rows": rows,
                "bytes": size,
                "bytes_per_row": round(size / rows) if rows else None,
            }
    return sizes

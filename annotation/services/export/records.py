"""Export records built in Python from the rows: the paged JSON and CSV
exports, and JSONL on SQLite."""

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, Func, Q, QuerySet
from django.db.models.expressions import RawSQL

from annotation.inputs import parse_id
from annotation.models import Product, ProductTag, Tag

CHUNK = 2000


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class ExportFilter:
    updated_since: datetime | None = None
    tag: str | None = None  # "facet:value"
    facet: str | None = None
    product_ids: tuple[str, ...] = ()  # external ids
    category: str | None = None


@dataclass(frozen=True)
class Cursor:
    changed_at: datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.changed_at.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        """The cursor `encode` wrote; BadCursor for anything else (a forged one
        too: a naive or out-of-range time, an id that is not a database id)."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, pk_text = raw.split("|")
            changed_at = datetime.fromisoformat(stamp)
            changed_at.astimezone(UTC)  # stored in UTC: must stay within years 1-9999
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadCursor("invalid cursor") from exc
        pk = parse_id(pk_text)
        if pk is None or changed_at.tzinfo is None:
            raise BadCursor("invalid cursor")
        return cls(changed_at, pk)


def _products(flt: ExportFilter) -> QuerySet[Product]:
    qs = Product.objects.filter(tags_updated_at__isnull=False)
    if flt.updated_since is not None:
        qs = qs.filter(tags_updated_at__gt=flt.updated_since)
    if flt.product_ids:
        qs = qs.filter(external_id__in=flt.product_ids)
    if flt.category:
        qs = qs.filter(category_path__istartswith=flt.category)
    if flt.tag:
        facet, _, name = flt.tag.partition(":")
        qs = qs.filter(product_tags__tag__group__name=facet, product_tags__tag__name=name)
    elif flt.facet:
        qs = qs.filter(product_tags__tag__group__name=flt.facet)
    if flt.tag or flt.facet:
        qs = qs.distinct()
    return qs.order_by("tags_updated_at", "id")


# PostgreSQL's form of _UtcText, also used where the database writes JSONL lines.
PG_UTC_TEXT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


class _UtcText(Func):
    """A timestamp as ISO 8601 text in UTC with microseconds, formatted by the
    database: 2026-01-31T12:00:00.000000+00:00 (fixed width, so the strings also
    sort in time order). Turning hundreds of thousands of timestamps into datetime
    objects only to print them again cost most of the export's time (Django's
    psycopg timestamptz loader is pure Python)."""

    output_field = CharField()

    # The params are a list in Django 5.2; django-stubs types them as a tuple.
    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        template = PG_UTC_TEXT.format("%(expressions)s")
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # Stored as "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
        template = (
            "REPLACE(%(expressions)s, ' ', 'T') "
            "|| CASE WHEN instr(%(expressions)s, '.') THEN '' ELSE '.000000' END || '+00:00'"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def _fetch(qs: QuerySet) -> list[tuple]:
    """All rows of a values_list() queryset in one fetch: Django's row iteration
    (in batches of 100) costs more than the query for the export's 10,000-row
    chunks."""
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def page_query(flt: ExportFilter, after: Cursor | None, limit: int) -> QuerySet:
    """(id, external id, title, category, changed_at as ISO text) in change order,
    up to `limit` products after the cursor."""
    qs = _products(flt)
    if after is not None:
        # The >= bound lets the database range-scan the (tags_updated_at, id) index.
        qs = qs.filter(tags_updated_at__gte=after.changed_at).filter(
            Q(tags_updated_at__gt=after.changed_at)
            | Q(tags_updated_at=after.changed_at, id__gt=after.pk)
        )
    return qs.annotate(changed=_UtcText("tags_updated_at")).values_list(
        "id", "external_id", "title", "category_path", "changed"
    )[:limit]


def _page_rows(flt: ExportFilter, after: Cursor | None, limit: int) -> list[tuple]:
    return _fetch(page_query(flt, after, limit))


def _cursor_after(row: tuple) -> Cursor:
    return Cursor(datetime.fromisoformat(row[4]), row[0])


class _Names:
    """Tag keys and usernames by id, loaded once per export and extended on
    demand (a taxonomy holds thousands of tags, never millions), so the tag rows
    are read from their own table without joins."""

    def __init__(self) -> None:
        # tag id -> (key, facet, name); rank: the tag's place in the order reviewers
        # see (facet position, facet name, tag name).
        self.tags: dict[int, tuple[str, str, str]] = {}
        self.rank: dict[int, int] = {}
        self.users: dict[int | None, str | None] = {None: None}
        self._order: dict[int, tuple] = {}
        self._load_tags(Tag.objects.all())

    def _load_tags(self, tags: QuerySet[Tag]) -> None:
        for pk, position, facet, name in tags.values_list(
            "pk", "group__position", "group__name", "name"
        ):
            self.tags[pk] = (f"{facet}:{name}", facet, name)
            self._order[pk] = (position, facet, name)
        ordered = sorted(self._order, key=self._order.__getitem__)
        self.rank = {pk: index for index, pk in enumerate(ordered)}

    def complete(self, tag_ids: set[int], user_ids: set[int | None]) -> None:
        missing_tags = tag_ids - self.tags.keys()
        if missing_tags:
            self._load_tags(Tag.objects.filter(pk__in=missing_tags))
        missing_users = {pk for pk in user_ids - self.users.keys() if pk is not None}
        if missing_users:
            self.users.update(
                User.objects.filter(pk__in=missing_users).values_list("pk", "username")
            )


def _id_set(ids: list[int]) -> list[int] | RawSQL:
    """The ids for an `__in` lookup. On PostgreSQL one array parameter: psycopg
    splits a query text with thousands of placeholders slower than the database
    runs it."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return ids


def _tags_for(product_ids: list[int], names: _Names) -> dict[int, tuple[list, list]]:
    """Per product: its approved tags and its rejected or removed ones."""
    rows = _fetch(
        ProductTag.objects.filter(product_id__in=_id_set(product_ids))
        .annotate(decided=_UtcText("decided_at"))
        .values_list(
            "product_id",
            "tag_id",
            "state",
            "source",
            "decided_by_id",
            "decided",
            "model_version_id",
            "score",
        )
        .order_by()
    )
    names.complete({r[1] for r in rows}, {r[4] for r in rows})
    tags, users, rank = names.tags, names.users, names.rank
    # Grouping by product below keeps this order within each product.
    rows.sort(key=lambda r: rank[r[1]])
    by_product: dict[int, tuple[list, list]] = {pid: ([], []) for pid in product_ids}
    approved = ProductTag.State.APPROVED.value
    for pid, tag_id, state, source, user_id, decided_at, version, score in rows:
        key, facet, name = tags[tag_id]
        by_product[pid][0 if state == approved else 1].append(
            {
                "tag": key,
                "facet": facet,
                "value": name,
                "source": source,
                "decided_by": users[user_id],
                "decided_at": decided_at,
                "model_version": version,
                "score": score,
            }
        )
    return by_product


def _record(row: tuple, tags: tuple[list, list]) -> dict:
    return {
        "id": row[1],
        "title": row[2],
        "category": row[3],
        "changed_at": row[4],
        "tags": tags[0],
        "removed": tags[1],
    }


def export_page(
    flt: ExportFilter, after: Cursor | None, limit: int
) -> tuple[list[dict], Cursor | None]:
    """One page of records and the cursor after it (None at the end)."""
    rows = _page_rows(flt, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    tags = _tags_for([r[0] for r in rows], _Names())
    records = [_record(r, tags[r[0]]) for r in rows]
    cursor = _cursor_after(rows[-1]) if rows and more else None
    return records, cursor


def iter_records(flt: ExportFilter, after: Cursor | None = None) -> Iterator[dict]:
    """Every record, fetched in keyset chunks so memory stays flat."""
    names = _Names()
    while True:
        rows = _page_rows(flt, after, CHUNK)
        if not rows:
            return
        tags = _tags_for([r[0] for r in rows], names)
        for row in rows:
            yield _record(row, tags[row[0]])
        after = _cursor_after(rows[-1])

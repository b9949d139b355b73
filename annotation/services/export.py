"""Approved tags per product, in change order, for incremental sync.

A record is one product with its full current set of approved tags (with
provenance) and the tags that were rejected or removed. A client applies a record
by replacing that product's tags, so records for changed products are all it needs:
an undone decision, a merge or a rejection reaches it the same way.
"""

import base64
import binascii
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, Func, Q, QuerySet
from django.db.models.expressions import RawSQL

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
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, pk = raw.split("|")
            return cls(datetime.fromisoformat(stamp), int(pk))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadCursor("invalid cursor") from exc


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


class _UtcText(Func):
    """A timestamp as ISO 8601 text in UTC with microseconds, formatted by the
    database: 2026-01-31T12:00:00.000000+00:00 (fixed width, so the strings also
    sort in time order). Turning hundreds of thousands of timestamps into datetime
    objects only to print them again cost most of the export's time (Django's
    psycopg timestamptz loader is pure Python)."""

    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
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


def _page_rows(flt: ExportFilter, after: Cursor | None, limit: int) -> list[tuple]:
    """(id, external id, title, category, changed_at as ISO text) in change order."""
    qs = _products(flt)
    if after is not None:
        # The >= bound lets the database range-scan the (tags_updated_at, id) index.
        qs = qs.filter(tags_updated_at__gte=after.changed_at).filter(
            Q(tags_updated_at__gt=after.changed_at)
            | Q(tags_updated_at=after.changed_at, id__gt=after.pk)
        )
    return _fetch(
        qs.annotate(changed=_UtcText("tags_updated_at")).values_list(
            "id", "external_id", "title", "category_path", "changed"
        )[:limit]
    )


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
        missing_users = user_ids - self.users.keys()
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


# Streamed responses are written in pieces of about this many bytes.
STREAM_PIECE = 64 * 1024


def iter_jsonl(records: Iterator[dict]) -> Iterator[bytes]:
    """One JSON object per line (UTF-8). orjson: the standard library's encoder
    took as long as everything else in the export together."""
    lines: list[bytes] = []
    size = 0
    for record in records:
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        lines.append(line)
        size += len(line)
        if size >= STREAM_PIECE:
            yield b"".join(lines)
            lines, size = [], 0
    if lines:
        yield b"".join(lines)


CSV_COLUMNS = [
    "id",
    "op",
    "tag",
    "facet",
    "value",
    "source",
    "decided_by",
    "decided_at",
    "model_version",
    "score",
    "changed_at",
]


# A spreadsheet runs a cell that starts with one of these as a formula (CSV
# injection); such a text cell gets a leading apostrophe, shown as plain text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The CSV columns that carry text from the catalogue, the taxonomy or usernames.
_TEXT_COLUMNS = frozenset(("id", "tag", "facet", "value", "decided_by"))


def _inert(row: list) -> list:
    return [
        "'" + cell
        if name in _TEXT_COLUMNS and isinstance(cell, str) and cell.startswith(_FORMULA_START)
        else cell
        for name, cell in zip(CSV_COLUMNS, row, strict=True)
    ]


def iter_csv(records: Iterator[dict]) -> Iterator[str]:
    """One row per (product, tag): op is `approved` or `removed`; a product with no
    approved tag left gets an `approved` row with an empty tag (clear it). Empty
    cells stand for null (the csv module writes None as an empty string). Text
    cells a spreadsheet would run as a formula start with an apostrophe; JSON and
    JSONL carry every value exactly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        ident, changed = record["id"], record["changed_at"]
        rows = [
            [
                ident,
                op,
                t["tag"],
                t["facet"],
                t["value"],
                t["source"],
                t["decided_by"],
                t["decided_at"],
                t["model_version"],
                t["score"],
                changed,
            ]
            for op, tags in (("approved", record["tags"]), ("removed", record["removed"]))
            for t in tags
        ]
        if not record["tags"]:
            rows.insert(0, [ident, "approved", "", "", "", "", "", "", "", "", changed])
        writer.writerows(_inert(row) for row in rows)
        if buffer.tell() > STREAM_PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

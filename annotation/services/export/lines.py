"""JSONL lines written by PostgreSQL: the records of records.iter_records, with
the same keys in the same order and the same values, so Python only joins bytes.
Building the records as Python objects and encoding them again took most of the
export's CPU time.

Each line is concatenated text around to_json() of every string from the rows, so
keys and escaping are as exact as json_build_object's, and the text is compact like
orjson's (json_build_object writes `"key" : value`); it also took a third less of
the database's time over the whole export."""

from collections.abc import Iterator
from datetime import datetime

import orjson
from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.db import connection

from annotation.models import ProductTag, Tag, TagGroup
from annotation.services.export.records import (
    CHUNK,
    PG_UTC_TEXT,
    Cursor,
    ExportFilter,
    page_query,
)


def _json_object(fields: dict[str, str]) -> str:
    """SQL for the text of a JSON object with these keys, in this order; each value
    is SQL giving that value's JSON text, never NULL (one NULL would make the whole
    line NULL)."""
    pieces: list[str] = []
    for index, (key, value) in enumerate(fields.items()):
        # The keys are this module's constants: no quote to escape in the literal.
        opening = "," if index else "{"
        pieces.append(f"'{opening}{orjson.dumps(key).decode()}:' || {value}")
    return " || ".join([*pieces, "'}'"])


def _json_text(sql: str) -> str:
    return f"coalesce(to_json({sql})::text, 'null')"


def _json_timestamp(sql: str) -> str:
    """A timestamp's _UtcText as a JSON string: digits and fixed characters, with
    nothing to escape, so quoted directly (to_json costs more)."""
    return f"'\"' || {sql} || '\"'"


def _json_integer(sql: str) -> str:
    return f"coalesce({sql}::text, 'null')"


def _json_float(sql: str) -> str:
    """float8 text is the shortest that reads back exactly, as orjson's is, but
    orjson writes a whole number as 1.0 (a float to every JSON reader) where
    PostgreSQL writes 1, and NaN and infinities as null."""
    return (
        f"CASE WHEN {sql} IS NULL OR {sql} IN ('NaN', 'Infinity', '-Infinity') THEN 'null' "
        # From 1e15 on, float8 text has an exponent.
        f"WHEN {sql} = trunc({sql}) AND abs({sql}) < 1e15 THEN {sql}::text || '.0' "
        f"ELSE {sql}::text END"
    )


_TAG_JSON = _json_object(
    {
        # Each tag's names, as JSON text, come from the labels below.
        "tag": "label.tag",
        "facet": "label.facet",
        "value": "label.value",
        "source": _json_text("pt.source"),
        "decided_by": _json_text("u.username"),
        "decided_at": _json_timestamp(PG_UTC_TEXT.format("pt.decided_at")),
        "model_version": _json_integer("pt.model_version_id"),
        "score": _json_float("pt.score"),
    }
)
_RECORD_JSON = _json_object(
    {
        "id": _json_text("page.external_id"),
        "title": _json_text("page.title"),
        "category": _json_text("page.category"),
        "changed_at": _json_timestamp("page.changed"),
        "tags": "'[' || coalesce(grouped.tags, '') || ']'",
        "removed": "'[' || coalesce(grouped.removed, '') || ']'",
    }
)


def _lines_sql(page_sql: str) -> str:
    """(id, changed_at, JSONL line) in change order for the products `page_sql`
    (from page_query) selects. Takes page_query's parameters, then the approved
    state. Tags are in the order of records._Names, names compared as code points
    (COLLATE "C") as Python compares strings, whatever the database's collation."""
    quote = connection.ops.quote_name
    tag, group = quote(Tag._meta.db_table), quote(TagGroup._meta.db_table)
    product_tag, user = quote(ProductTag._meta.db_table), quote(User._meta.db_table)
    return f"""
        WITH page (id, external_id, title, category, changed) AS MATERIALIZED ({page_sql}),
        labels AS (
            SELECT t.id,
                row_number() OVER (
                    ORDER BY g.position, g.name COLLATE "C", t.name COLLATE "C"
                ) AS rank,
                to_json(g.name || ':' || t.name)::text AS tag,
                to_json(g.name)::text AS facet,
                to_json(t.name)::text AS value
            FROM {tag} t JOIN {group} g ON g.id = t.group_id
        ),
        items AS (
            SELECT pt.product_id, pt.state = %s AS approved, label.rank, {_TAG_JSON} AS item
            FROM {product_tag} pt
            JOIN labels label ON label.id = pt.tag_id
            LEFT JOIN {user} u ON u.id = pt.decided_by_id
            WHERE pt.product_id IN (SELECT id FROM page)
        ),
        grouped AS (
            SELECT product_id,
                string_agg(item, ',' ORDER BY rank) FILTER (WHERE approved) AS tags,
                string_agg(item, ',' ORDER BY rank) FILTER (WHERE NOT approved) AS removed
            FROM items
            GROUP BY product_id
        )
        SELECT page.id, page.changed, {_RECORD_JSON}
        FROM page LEFT JOIN grouped ON grouped.product_id = page.id
        ORDER BY page.changed COLLATE "C", page.id
    """


def sql_lines(flt: ExportFilter, after: Cursor | None) -> Iterator[bytes]:
    """Every record after the cursor as a JSONL line (newline included), read in
    the keyset chunks of iter_records, so memory stays flat."""
    while True:
        try:
            page_sql, page_params = page_query(flt, after, CHUNK).query.sql_with_params()
        except EmptyResultSet:
            return
        with connection.cursor() as cursor:
            cursor.execute(_lines_sql(page_sql), [*page_params, ProductTag.State.APPROVED.value])
            rows = cursor.fetchall()
        if not rows:
            return
        for _pk, _changed, line in rows:
            yield line.encode() + b"\n"
        pk, changed, _line = rows[-1]
        after = Cursor(datetime.fromisoformat(changed), pk)

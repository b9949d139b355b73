"""The streamed export formats: JSONL and CSV."""

import csv
import io
from collections.abc import Iterable, Iterator

import orjson
from django.db import connection

from annotation.services.export.lines import sql_lines
from annotation.services.export.records import Cursor, ExportFilter, iter_records

# Streamed responses are written in pieces of about this many bytes.
STREAM_PIECE = 64 * 1024


def _pieces(lines: Iterable[bytes]) -> Iterator[bytes]:
    pending: list[bytes] = []
    size = 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= STREAM_PIECE:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def iter_jsonl(records: Iterator[dict]) -> Iterator[bytes]:
    """One JSON object per line (UTF-8). orjson: the standard library's encoder
    took as long as everything else in the export together."""
    return _pieces(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE) for record in records)


def stream_jsonl(flt: ExportFilter, after: Cursor | None = None) -> Iterator[bytes]:
    """The JSONL export of every record after the cursor. On PostgreSQL the
    database writes the lines (see lines.py); elsewhere iter_jsonl encodes
    iter_records."""
    if connection.vendor == "postgresql":
        return _pieces(sql_lines(flt, after))
    return iter_jsonl(iter_records(flt, after))


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

"""Validated rows wait on disk between reading a file and writing it.

An import checks every row before it writes any (all-or-nothing), so the clean
rows must be kept somewhere until the end of the file. Keeping them in memory
made a process grow with the file; `RowSpool` keeps them in a private temporary
SQLite database instead (deleted when closed, with a small page cache), which
also finds an id that appears twice without a dictionary of every id.
"""

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import fields

from annotation.services.importing.rows import ProductRow

# Rows handed to the writer at a time: at most this many, and at most this
# much JSON (a few rows may be large), so a chunk's memory stays small.
CHUNK_ROWS = 500
CHUNK_BYTES = 8 * 1024 * 1024
_CACHE_KIB = 8 * 1024
_FIELDS = [field.name for field in fields(ProductRow)]


def _encode(row: ProductRow) -> str:
    # ASCII JSON: any string the row holds (a lone surrogate too) round-trips.
    return json.dumps([getattr(row, name) for name in _FIELDS], separators=(",", ":"))


def _decode(data: str) -> ProductRow:
    row = ProductRow(*json.loads(data))
    if row.tags is not None:
        row.tags = [(facet, name) for facet, name in row.tags]
    return row


class RowSpool:
    def __init__(self) -> None:
        # "" is SQLite's private temporary on-disk database.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE spooled (seq INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, "
            "line INTEGER NOT NULL, data TEXT NOT NULL)"
        )
        self._db.execute("BEGIN")
        self.count = 0

    def add(self, row: ProductRow) -> int | None:
        """Keep `row`; or, when a row with its id is kept already, the line of
        that first one (and `row` is not kept)."""
        cursor = self._db.execute(
            "INSERT INTO spooled (external_id, line, data) VALUES (?, ?, ?) "
            "ON CONFLICT (external_id) DO NOTHING",
            (row.external_id, row.line, _encode(row)),
        )
        if cursor.rowcount:
            self.count += 1
            return None
        first = self._db.execute(
            "SELECT line FROM spooled WHERE external_id = ?", (row.external_id,)
        ).fetchone()
        return int(first[0])

    def chunks(self) -> Iterator[list[ProductRow]]:
        """The kept rows in file order, a bounded chunk at a time."""
        cursor = self._db.execute("SELECT data FROM spooled ORDER BY seq")
        chunk: list[ProductRow] = []
        size = 0
        while batch := cursor.fetchmany(100):
            for (data,) in batch:
                chunk.append(_decode(data))
                size += len(data)
                if len(chunk) >= CHUNK_ROWS or size >= CHUNK_BYTES:
                    yield chunk
                    chunk, size = [], 0
        if chunk:
            yield chunk

    def close(self) -> None:
        self._db.close()

"""Approved tags per product, in change order, for incremental sync.

A record is one product with its full current set of approved tags (with
provenance) and the tags that were rejected or removed. A client applies a record
by replacing that product's tags, so records for changed products are all it needs:
an undone decision, a merge or a rejection reaches it the same way.
"""

from annotation.services.export.formats import (
    CSV_COLUMNS,
    STREAM_PIECE,
    iter_csv,
    iter_jsonl,
    stream_jsonl,
)
from annotation.services.export.records import (
    CHUNK,
    BadCursor,
    Cursor,
    ExportFilter,
    export_page,
    iter_records,
)

__all__ = [
    "CHUNK",
    "CSV_COLUMNS",
    "STREAM_PIECE",
    "BadCursor",
    "Cursor",
    "ExportFilter",
    "export_page",
    "iter_csv",
    "iter_jsonl",
    "iter_records",
    "stream_jsonl",
]

"""Catalogue import: CSV / JSONL / JSON (optionally gzipped) into Product rows.

readers.py turns bytes into raw rows, rows.py validates and cleans one row,
tags.py resolves `facet:value` strings, upsert.py writes, service.py ties them
together and records the ImportBatch.
"""

from annotation.services.importing.readers import FORMATS, ImportFileError
from annotation.services.importing.rows import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    content_hash,
)
from annotation.services.importing.service import ImportResult, RowError, import_products

__all__ = [
    "FORMATS",
    "MAX_DESCRIPTION",
    "MAX_TITLE",
    "ImportFileError",
    "ImportResult",
    "RowError",
    "content_hash",
    "import_products",
]

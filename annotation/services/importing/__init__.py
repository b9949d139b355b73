"""Catalogue import: CSV / JSONL / JSON (optionally gzipped) into Product rows.

streams.py looks at the bytes (gzip, format, UTF-8), readers.py turns them
into raw rows, rows.py validates and cleans one row (json_values.py holds the
JSON helpers both share), tags.py resolves `facet:value` strings, upsert.py
writes, service.py ties them together and records the ImportBatch. A file that
cannot be read as a whole raises annotation.errors.ImportFileError inside the
service, which records it on the batch. limits.py holds the caps that bound an
import's memory (json_stream.py reads JSON documents an element at a time,
spool.py keeps the clean rows on disk until the write); uploads.py stores
uploaded files and background.py runs their imports in a worker; created.py
reads the facets and tags an import created (tags.py notes them, upsert.py
stores them on the batch).
"""

from annotation.errors import ImportFileError
from annotation.services.importing.background import queue_import, run_queued_import
from annotation.services.importing.created import CreatedTaxonomy, created_taxonomy
from annotation.services.importing.limits import ImportLimits
from annotation.services.importing.rows import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    content_hash,
)
from annotation.services.importing.service import (
    ImportProgress,
    ImportResult,
    RowError,
    import_into,
    import_products,
)
from annotation.services.importing.streams import FORMATS

__all__ = [
    "FORMATS",
    "MAX_DESCRIPTION",
    "MAX_TITLE",
    "CreatedTaxonomy",
    "ImportFileError",
    "ImportLimits",
    "ImportProgress",
    "ImportResult",
    "RowError",
    "content_hash",
    "created_taxonomy",
    "import_into",
    "import_products",
    "queue_import",
    "run_queued_import",
]

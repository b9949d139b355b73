"""The import entry point: read, validate every row, then write in one
transaction, and record the outcome on an ImportBatch."""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import ImportBatch, Product
from annotation.services.importing.readers import (
    COLUMNS_KEY,
    ImportFileError,
    open_data_file,
)
from annotation.services.importing.rows import (
    EXPECTED,
    ColumnMap,
    ProductRow,
    RowProblem,
    build_row,
    normalise_name,
)
from annotation.services.importing.tags import TagResolver
from annotation.services.importing.upsert import write_rows
from annotation.signals import products_changed

logger = logging.getLogger(__name__)

# The batch keeps this many errors; the rest are counted, not stored.
MAX_STORED_ERRORS = 1000
_PROGRESS_EVERY = 500


@dataclass(frozen=True)
class RowError:
    """`line` is the 1-based physical line (CSV, JSONL), the 1-based element
    index (JSON), or 0 for a problem with the file as a whole."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else f"file: {self.reason}"


@dataclass
class ImportResult:
    batch: ImportBatch
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.batch.status == ImportBatch.Status.SUCCEEDED

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


@dataclass
class _Validated:
    rows: list[ProductRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0


@contextmanager
def _opened(source: str | Path | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def _source_name(source: str | Path | IO[bytes], filename: str | None) -> str:
    if filename:
        return filename
    if isinstance(source, str | Path):
        return Path(source).name
    return str(getattr(source, "name", "") or "upload")


def _check_header(columns: list[str], line: int, column_map: ColumnMap) -> None:
    present = {normalise_name(c) for c in columns}
    unknown = [src for src in column_map.mapping if src not in present]
    if unknown:
        raise ImportFileError(
            line,
            f"the column {unknown[0]!r} named in the mapping is not in the file "
            f"(its columns: {', '.join(columns)})",
        )
    try:
        missing = column_map.missing_required(columns)
    except RowProblem as exc:
        raise ImportFileError(line, f"the header is ambiguous: {exc}") from exc
    if missing:
        wanted = " and ".join(" or ".join(EXPECTED[name]) for name in missing)
        raise ImportFileError(
            line,
            f"the file has no {wanted} column; it needs an id column (id or external_id) "
            f"and a title column. Its columns are: {', '.join(columns)}. Rename the "
            "columns, or map them (for example --map sku=id --map name=title)",
        )


def _validate(
    stream: IO[bytes],
    *,
    filename: str | None,
    fmt: str | None,
    column_map: ColumnMap,
    resolver: TagResolver,
    progress: Callable[[int], None] | None,
    result: _Validated,
) -> None:
    """Fill `result` with clean rows and row errors; raises ImportFileError."""
    data_file = open_data_file(stream, filename=filename, fmt=fmt)
    first_line: dict[str, int] = {}
    pending = 0
    for raw in data_file.rows():
        if raw.data is not None and COLUMNS_KEY in raw.data:
            _check_header(raw.data[COLUMNS_KEY], raw.line, column_map)
            continue
        result.total += 1
        pending += 1
        if progress is not None and pending >= _PROGRESS_EVERY:
            progress(pending)
            pending = 0
        if raw.error is not None or raw.data is None:
            result.errors.append(RowError(raw.line, raw.error or "unreadable row"))
            continue
        try:
            row = build_row(raw.line, raw.data, column_map, resolver)
        except RowProblem as exc:
            result.errors.append(RowError(raw.line, str(exc)))
            continue
        first = first_line.get(row.external_id)
        if first is not None:
            result.errors.append(
                RowError(
                    raw.line, f"the id {row.external_id!r} appears twice: first on line {first}"
                )
            )
            continue
        first_line[row.external_id] = raw.line
        result.rows.append(row)
    if progress is not None and pending:
        progress(pending)
    if result.total == 0:
        raise ImportFileError(0, "the file holds no products")


def _finish(batch: ImportBatch, result: ImportResult, total: int, status: str) -> ImportResult:
    batch.status = status
    batch.rows_total = total
    batch.rows_created = result.created
    batch.rows_updated = result.updated
    batch.rows_unchanged = result.unchanged
    batch.rows_rejected = result.rejected
    stored = [{"line": e.line, "reason": e.reason} for e in result.errors[:MAX_STORED_ERRORS]]
    if len(result.errors) > MAX_STORED_ERRORS:
        stored.append(
            {"line": 0, "reason": f"… and {len(result.errors) - MAX_STORED_ERRORS} more errors"}
        )
    batch.errors = stored
    batch.finished_at = timezone.now()
    batch.save(
        update_fields=[
            "status",
            "rows_total",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "errors",
            "finished_at",
        ]
    )
    logger.info("import batch %s %s: %s (%d rows)", batch.pk, status, result.summary(), total)
    return result


def import_products(
    source: str | Path | IO[bytes],
    *,
    filename: str | None = None,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    keep_valid: bool = False,
    user: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import products from a CSV, JSONL or JSON file (gzipped or not).

    Products are upserted by external id: identical rows are not written,
    changed rows are updated, new ones created. Fields: id (or external_id),
    title, description, brand, category ("A > B" or a list), attributes (an
    object), image_url, language (detected when absent), tags ("facet:value"
    strings; in CSV separated by "|" or ";"). Source keys that match no field
    are kept in `attributes`. `mapping` renames source keys first
    ({"sku": "id"}).

    All-or-nothing unless `keep_valid`: when any row is rejected nothing is
    written and the batch is failed. The ImportBatch is saved outside the data
    transaction so it records the outcome either way. `progress` receives the
    number of rows read since its previous call.
    """
    name = _source_name(source, filename)
    batch = ImportBatch.objects.create(source=name[:500], keep_valid=keep_valid, created_by=user)
    result = ImportResult(batch=batch)
    column_map = ColumnMap(mapping)
    resolver = TagResolver()
    validated = _Validated()
    try:
        with _opened(source) as stream:
            _validate(
                stream,
                filename=name,
                fmt=fmt,
                column_map=column_map,
                resolver=resolver,
                progress=progress,
                result=validated,
            )
    except ImportFileError as exc:
        result.errors = [*validated.errors, RowError(exc.line, exc.reason)]
        result.rejected = len(validated.errors)
        return _finish(batch, result, validated.total, ImportBatch.Status.FAILED)

    result.errors = validated.errors
    result.rejected = len(validated.errors)
    if validated.errors and not (keep_valid and validated.rows):
        return _finish(batch, result, validated.total, ImportBatch.Status.FAILED)
    try:
        with transaction.atomic():
            counts = write_rows(
                validated.rows, batch=batch, user=user, resolver=resolver, now=timezone.now()
            )
    except Exception:
        logger.exception("import batch %s failed while writing", batch.pk)
        result.errors = [
            *result.errors,
            RowError(0, "the import stopped with an internal error; nothing was saved"),
        ]
        _finish(batch, result, validated.total, ImportBatch.Status.FAILED)
        raise
    result.created = counts.created
    result.updated = counts.updated
    result.unchanged = counts.unchanged
    if counts.created or counts.updated:
        changed = list(Product.objects.filter(import_batch=batch).values_list("id", flat=True))
        transaction.on_commit(
            lambda: products_changed.send(sender=import_products, product_ids=changed)
        )
    return _finish(batch, result, validated.total, ImportBatch.Status.SUCCEEDED)

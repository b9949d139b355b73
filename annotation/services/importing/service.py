"""The import entry point: read, validate every row, then write in one
transaction, and record the outcome on an ImportBatch.

Memory stays bounded whatever the file holds: the readers hold one line at a
time within `ImportLimits`, the clean rows wait on disk (`RowSpool`), and only
the first `limits.errors` row errors are kept (the rest are counted)."""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.errors import ImportFileError
from annotation.models import ImportBatch, Product
from annotation.services import webhooks
from annotation.services.importing.created import created_taxonomy
from annotation.services.importing.limits import ImportLimits
from annotation.services.importing.readers import COLUMNS_KEY, DataFile, open_data_file
from annotation.services.importing.rows import (
    EXPECTED,
    ColumnMap,
    RowProblem,
    build_row,
    normalise_name,
)
from annotation.services.importing.spool import RowSpool
from annotation.services.importing.tags import TagResolver
from annotation.services.importing.upsert import write_rows
from annotation.signals import products_changed

logger = logging.getLogger(__name__)

_PROGRESS_EVERY = 500
READING = ImportBatch.Stage.READING
SAVING = ImportBatch.Stage.SAVING


@dataclass(frozen=True)
class RowError:
    """`line` is the 1-based physical line (CSV, JSONL), the 1-based element
    index (JSON), or 0 for a problem with the file as a whole."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else f"file: {self.reason}"


@dataclass(frozen=True)
class ImportProgress:
    """Where a running import is: `stage` reading (then `rows` read so far,
    `new_rows` of them since the previous report, `bytes_read` of the file as
    stored) or saving (reported once, before the write)."""

    stage: str
    rows: int
    new_rows: int
    bytes_read: int


@dataclass
class ImportResult:
    batch: ImportBatch
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # The problem with the file as a whole first, if any, then the first row
    # errors (ImportLimits.errors of them); `omitted_errors` counts the rest.
    errors: list[RowError] = field(default_factory=list)
    omitted_errors: int = 0

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
    spool: RowSpool
    keep_errors: int
    errors: list[RowError] = field(default_factory=list)
    rejected: int = 0
    total: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < self.keep_errors:
            self.errors.append(RowError(line, reason))


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


class _Reader:
    """Reads one file into a `_Validated`, reporting progress as it goes."""

    def __init__(
        self,
        column_map: ColumnMap,
        resolver: TagResolver,
        limits: ImportLimits,
        progress: Callable[[ImportProgress], None] | None,
        result: _Validated,
    ) -> None:
        self.column_map = column_map
        self.resolver = resolver
        self.limits = limits
        self.progress = progress
        self.result = result
        self.pending = 0

    def report(self, data_file: DataFile) -> None:
        if self.progress is not None:
            self.progress(
                ImportProgress(READING, self.result.total, self.pending, data_file.bytes_read)
            )
        self.pending = 0

    def read(self, stream: IO[bytes], *, filename: str | None, fmt: str | None) -> None:
        """Fill the result with clean rows and row errors; raises ImportFileError."""
        data_file = open_data_file(stream, filename=filename, fmt=fmt, limits=self.limits)
        result = self.result
        for raw in data_file.rows():
            if raw.data is not None and COLUMNS_KEY in raw.data:
                _check_header(raw.data[COLUMNS_KEY], raw.line, self.column_map)
                continue
            result.total += 1
            self.pending += 1
            if self.pending >= _PROGRESS_EVERY:
                self.report(data_file)
            if raw.error is not None or raw.data is None:
                result.reject(raw.line, raw.error or "unreadable row")
                continue
            try:
                row = build_row(raw.line, raw.data, self.column_map, self.resolver, self.limits)
            except RowProblem as exc:
                result.reject(raw.line, str(exc))
                continue
            first = result.spool.add(row)
            if first is not None:
                result.reject(
                    raw.line, f"the id {row.external_id!r} appears twice: first on line {first}"
                )
        if self.pending:
            self.report(data_file)
        if result.total == 0:
            raise ImportFileError(0, "the file holds no products")


def _finish(batch: ImportBatch, result: ImportResult, total: int, status: str) -> ImportResult:
    batch.status = status
    batch.rows_total = total
    batch.rows_created = result.created
    batch.rows_updated = result.updated
    batch.rows_unchanged = result.unchanged
    batch.rows_rejected = result.rejected
    batch.errors = [{"line": e.line, "reason": e.reason} for e in result.errors]
    batch.errors_omitted = result.omitted_errors
    batch.finished_at = timezone.now()
    batch.stage = ""  # a stage is where a running import is; this one has finished
    if status == ImportBatch.Status.SUCCEEDED:
        batch.progress = 100.0
    batch.save(
        update_fields=[
            "status",
            "stage",
            "rows_total",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "errors",
            "errors_omitted",
            "finished_at",
            "progress",
        ]
    )
    webhooks.notify_import_finished(batch, lambda: created_taxonomy(batch).as_json())
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
    progress: Callable[[ImportProgress], None] | None = None,
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
    transaction so it records the outcome either way. `progress` receives an
    ImportProgress every few hundred rows, and once more when saving starts.
    The caps of ImportLimits (the settings TAGGER_IMPORT_MAX_*) apply.
    """
    name = _source_name(source, filename)
    batch = ImportBatch.objects.create(source=name[:500], keep_valid=keep_valid, created_by=user)
    return import_into(batch, source, filename=name, fmt=fmt, mapping=mapping, progress=progress)


def import_into(
    batch: ImportBatch,
    source: str | Path | IO[bytes],
    *,
    filename: str | None = None,
    fmt: str | None = None,
    mapping: Mapping[str, str] | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
) -> ImportResult:
    """`import_products` into a batch that exists already (a queued upload's);
    its `keep_valid` and `created_by` say how and for whom."""
    limits = ImportLimits.from_settings()
    with closing(RowSpool()) as spool:
        validated = _Validated(spool=spool, keep_errors=limits.errors)
        resolver = TagResolver()
        reader = _Reader(ColumnMap(mapping), resolver, limits, progress, validated)
        file_error: list[RowError] = []
        try:
            with _opened(source) as stream:
                reader.read(stream, filename=filename or _source_name(source, None), fmt=fmt)
        except ImportFileError as exc:
            file_error = [RowError(exc.line, exc.reason)]
        return _write(batch, validated, file_error, resolver, progress)


def _write(
    batch: ImportBatch,
    validated: _Validated,
    file_error: list[RowError],
    resolver: TagResolver,
    progress: Callable[[ImportProgress], None] | None,
) -> ImportResult:
    """Save what was read, unless the file or (without keep_valid) a row was
    rejected, and record the outcome on the batch."""
    keep_valid, user, spool = batch.keep_valid, batch.created_by, validated.spool
    result = ImportResult(batch=batch)
    result.errors = [*file_error, *validated.errors]
    result.rejected = validated.rejected
    result.omitted_errors = validated.rejected - len(validated.errors)
    if file_error:
        return _finish(batch, result, validated.total, ImportBatch.Status.FAILED)
    if validated.rejected and not (keep_valid and spool.count):
        return _finish(batch, result, validated.total, ImportBatch.Status.FAILED)
    if progress is not None:
        progress(ImportProgress(SAVING, validated.total, 0, 0))
    try:
        with transaction.atomic():
            counts = write_rows(
                spool.chunks(), batch=batch, user=user, resolver=resolver, now=timezone.now()
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

"""Imports of uploaded files as background jobs.

The import page and `POST /api/v1/imports/` store the upload (`uploads.py`),
queue an ImportBatch and return at once; a worker runs the import
(`annotation.tasks.run_import` calls `run_queued_import`), writing its progress
on the batch row, which the page polls and `GET /api/v1/imports/<id>/` reads.
The stored file is deleted when the import finishes, however it ends.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from annotation import jobs
from annotation.models import ImportBatch
from annotation.services.importing.service import (
    READING,
    SAVING,
    ImportProgress,
    import_into,
)
from annotation.services.importing.uploads import delete_stored, open_stored, store

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "the import stopped with an internal error; nothing was saved"
WORKER_LOST = (
    "the worker running this import stopped reporting (it was killed or its machine "
    "went away); nothing was saved, upload the file again"
)
FILE_GONE = (
    "the uploaded file was not found by the worker (is TAGGER_UPLOAD_DIR shared by "
    "the web and worker hosts?); nothing was saved, upload it again"
)


def queue_import(
    upload: File, *, filename: str, keep_valid: bool, user: User | None
) -> ImportBatch:
    """Store the upload and queue its import; the batch is queued (or, with
    eager Celery, already finished) when this returns. Raises ImportFileError
    when the file is over TAGGER_MAX_UPLOAD_BYTES."""
    stored = store(upload)
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                source=filename[:500],
                status=ImportBatch.Status.QUEUED,
                keep_valid=keep_valid,
                created_by=user,
                stored_file=stored.name,
                file_size=stored.size,
            )
            jobs.run_import(batch.pk)
    except BaseException:
        delete_stored(stored.name)
        raise
    return batch


class _BatchProgress:
    """Writes an import's progress on its batch row (outside the write
    transaction: the saving stage is announced before it begins)."""

    def __init__(self, batch: ImportBatch) -> None:
        self.batch_id = batch.pk
        self.size = batch.file_size

    def __call__(self, report: ImportProgress) -> None:
        changes: dict[str, object] = {"heartbeat_at": timezone.now(), "rows_total": report.rows}
        if report.stage == SAVING:
            changes["stage"] = SAVING
        elif self.size:
            changes["progress"] = min(99.0, 100.0 * report.bytes_read / self.size)
        ImportBatch.objects.filter(pk=self.batch_id).update(**changes)


def _fail(batch_id: int, reason: str) -> None:
    ImportBatch.objects.filter(pk=batch_id, status__in=ImportBatch.ACTIVE_STATUSES).update(
        status=ImportBatch.Status.FAILED,
        stage="",
        errors=[{"line": 0, "reason": reason}],
        finished_at=timezone.now(),
    )


def run_queued_import(batch_id: int) -> ImportBatch | None:
    """Run a queued import (the worker's side). A batch that is not queued any
    more (run already, by a redelivered task) is left alone: None."""
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(
        status=ImportBatch.Status.RUNNING, stage=READING, heartbeat_at=timezone.now()
    )
    if not claimed:
        logger.info("import batch %s is gone or not queued any more", batch_id)
        return None
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        with open_stored(batch.stored_file) as stream:
            import_into(batch, stream, filename=batch.source, progress=_BatchProgress(batch))
    except FileNotFoundError:
        logger.error("import batch %s: stored file %s not found", batch_id, batch.stored_file)
        _fail(batch_id, FILE_GONE)
    except BaseException:
        logger.exception("import batch %s stopped", batch_id)
        _fail(batch_id, INTERNAL_ERROR)
        raise
    finally:
        delete_stored(batch.stored_file)
        ImportBatch.objects.filter(pk=batch_id).update(stored_file="")
    batch.refresh_from_db()
    return batch


def fail_stale_imports() -> int:
    """Fail running imports whose worker has been silent for longer than
    TAGGER_HEARTBEAT_STALE_SECONDS (it was killed mid-import: its write
    transaction rolled back, so nothing was saved) and delete their stored files.
    Returns how many were failed. Beat runs it; idempotent."""
    cutoff = timezone.now() - timedelta(seconds=settings.TAGGER_HEARTBEAT_STALE_SECONDS)
    stale = list(
        ImportBatch.objects.filter(
            status=ImportBatch.Status.RUNNING, heartbeat_at__lt=cutoff
        ).values_list("pk", "stored_file")
    )
    for batch_id, stored_file in stale:
        _fail(batch_id, WORKER_LOST)
        if stored_file:
            delete_stored(stored_file)
            ImportBatch.objects.filter(pk=batch_id).update(stored_file="")
        logger.warning("import batch %s: worker silent since before %s; failed", batch_id, cutoff)
    return len(stale)

"""Celery tasks of the model's life. Thin: ids in, the row looked up (log and
return when it is gone), one service call. The TrainingRun row, not the result
backend, carries status and progress."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from annotation.models import Product
from training import jobs
from training.models import ModelVersion
from training.services import comparison, job, progress, ranking, runs, scoring

logger = logging.getLogger(__name__)

# Only errors that a retry can fix (a dropped or busy database connection).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# Catalogues at least this big are scored as a group of chunk tasks, so several
# workers share the work; smaller ones in one task.
FANOUT_MIN_PRODUCTS = 4096
FANOUT_CHUNK = 1024
SCORABLE = (ModelVersion.Status.READY, ModelVersion.Status.ACTIVE, ModelVersion.Status.ARCHIVED)


@shared_task(name="training.tasks.train_model")
def train_model(run_id: int) -> int | None:
    """Not acks_late: a training is not idempotent, and a worker lost mid-run is
    noticed by the stale sweep and recorded as failed instead of replayed."""
    version = job.run_training(run_id)
    return version.pk if version is not None else None


def _scorable(version_id: int) -> ModelVersion | None:
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        logger.warning("model version %s is gone; nothing to score", version_id)
        return None
    if version.status not in SCORABLE:
        logger.warning("model version %s is %s; not scoring", version_id, version.status)
        return None
    return version


@shared_task(
    name="training.tasks.score_catalog",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def score_catalog(version_id: int, product_ids: list[int] | None = None, full: bool = False) -> int:
    """Score the given products, or every product the version has not scored
    (all of them when `full`); then rank the queue if the version is active."""
    version = _scorable(version_id)
    if version is None:
        return 0
    tracker = None
    if product_ids is None:
        product_ids = (
            list(Product.objects.order_by("id").values_list("id", flat=True))
            if full
            else scoring.pending_product_ids(version)
        )
        # A re-scoring of the catalogue: its progress is shown (services.progress);
        # the chunks add to it.
        tracker = progress.Tracker(
            progress.SCORING, version_id, total=len(product_ids), stage=progress.SCORING_STAGE
        )
    if len(product_ids) >= FANOUT_MIN_PRODUCTS:
        chunks = [
            product_ids[i : i + FANOUT_CHUNK] for i in range(0, len(product_ids), FANOUT_CHUNK)
        ]
        logger.info(
            "v%s: scoring %d products in %d chunks", version_id, len(product_ids), len(chunks)
        )
        jobs.score_chunks(version_id, chunks)
        return 0
    written = scoring.score_products(
        version, product_ids, on_progress=tracker.advance if tracker else None
    )
    if tracker is not None:
        tracker.finish()
    logger.info("v%s scored %d products (%d suggestions)", version_id, len(product_ids), written)
    _rank_when_scored(version)
    return written


@shared_task(
    name="training.tasks.score_chunk",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def score_chunk(version_id: int, product_ids: list[int]) -> int:
    """One chunk of a fanned-out scoring; whichever chunk finds nothing left to
    score ranks the queue (chunks finishing together may both rank: harmless)."""
    version = _scorable(version_id)
    if version is None:
        return 0
    tracker = progress.Tracker.resume(progress.SCORING)
    if tracker is not None and tracker.version_id != version_id:
        tracker = None
    written = scoring.score_products(
        version, product_ids, on_progress=tracker.advance if tracker else None
    )
    if not scoring.pending_products(version).exists():
        _rank_when_scored(version)
    return written


def _rank_when_scored(version: ModelVersion) -> None:
    # The queue follows the active model only.
    if ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.ACTIVE).exists():
        jobs.rank_queue(version.pk)


@shared_task(
    name="training.tasks.rank_queue",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def rank_queue(version_id: int | None = None) -> None:
    """Re-rank the review queue with the given version's scores (default: the
    active version)."""
    if version_id is None:
        version = ModelVersion.objects.active()
    else:
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            logger.warning("model version %s is gone; not ranking", version_id)
            return
    ranking.rank_queue(version)


@shared_task(
    name="training.tasks.remeasure_versions",
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
)
def remeasure_versions(version_ids: list[int] | None = None) -> list[int]:
    """Measure versions on the current evaluation set (see services.comparison)."""
    return comparison.remeasure_versions(version_ids)


@shared_task(name="training.tasks.sweep_stale_runs")
def sweep_stale_runs() -> int:
    return runs.fail_stale_runs()


@shared_task(name="training.tasks.maybe_auto_retrain")
def maybe_auto_retrain() -> int | None:
    run = runs.maybe_auto_retrain()
    return run.pk if run is not None else None

"""Training runs: start one (at most one in flight), cancel it, notice a dead
worker, retrain by rule. The body of a run lives in training.services.training."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from annotation.models import ProjectSettings, ReviewEvent
from training import jobs
from training.errors import BrokerUnavailable, InvalidTrainingMode, TrainingInFlight
from training.models import ModelVersion, TrainingRun

logger = logging.getLogger(__name__)

TRAIN_MODES = (ModelVersion.Mode.HEAD, ModelVersion.Mode.FULL)
# A queued run whose task never started. Long, because the message may simply
# wait for a worker to come up; an admin can cancel a queued run at any time.
QUEUED_STALE_AFTER = timedelta(hours=6)
# Actions that are a person's judgement on a product (not skips, imports or merges).
HUMAN_REVIEW_ACTIONS = (
    ReviewEvent.Action.ACCEPT,
    ReviewEvent.Action.ADD,
    ReviewEvent.Action.REJECT,
    ReviewEvent.Action.REMOVE,
    ReviewEvent.Action.BULK_ACCEPT,
    ReviewEvent.Action.BULK_REJECT,
)


def in_flight_run() -> TrainingRun | None:
    return TrainingRun.objects.filter(in_flight=True).first()


def validate_mode(mode: str | None) -> str:
    """The mode to record on the run: an explicit one, TAGGER_TRAIN_MODE, or ""
    (the worker picks: full where it sees CUDA, head otherwise). The web process
    never imports torch to find out."""
    mode = (mode or settings.TAGGER_TRAIN_MODE or "").strip()
    if mode and mode not in TRAIN_MODES:
        raise InvalidTrainingMode(
            f"training mode must be one of {', '.join(TRAIN_MODES)}, not {mode!r}"
        )
    return mode


def trigger_training(
    user: User | None, mode: str | None = None, enqueue: bool = True
) -> TrainingRun:
    """Queue a training run and enqueue its task once the row is committed.

    Raises TrainingInFlight when a run is already queued or running (the
    database's one-in-flight constraint decides races), BrokerUnavailable when
    the broker cannot take the job (the run is then recorded as failed).
    enqueue=False leaves the run queued for the caller to execute with
    run_training() in its own process (`manage.py train --inline`)."""
    mode = validate_mode(mode)
    current = in_flight_run()
    if current is not None:
        raise TrainingInFlight(current)
    who = getattr(user, "username", None) or "the system"
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                mode=mode, created_by=user, log=_log_line(f"queued by {who}")
            )
    except IntegrityError as exc:
        raise TrainingInFlight(in_flight_run()) from exc
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: TrainingRun) -> None:
    try:
        task_id = jobs.train_model(run.pk)
    except (BrokerError, ConnectionError, OSError) as exc:
        error = f"task broker unreachable: {exc}"
        TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.FAILED,
            in_flight=None,
            error=error,
            finished_at=timezone.now(),
        )
        logger.error("training run %s not enqueued: %s", run.pk, exc)
        raise BrokerUnavailable(error) from exc
    # In eager mode the task already ran; only the id is written here.
    TrainingRun.objects.filter(pk=run.pk).update(task_id=task_id)


def cancel_training(run: TrainingRun, user: User | None = None) -> TrainingRun:
    """Ask a run to stop. A queued run is cancelled at once; a running one stops
    at its next check (within a few seconds) and is then marked cancelled."""
    now = timezone.now()
    who = getattr(user, "username", None) or "the system"
    cancelled = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.CANCELLED,
        cancel_requested=True,
        in_flight=None,
        finished_at=now,
        stage="cancelled",
    )
    if not cancelled:
        TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(
            cancel_requested=True
        )
    logger.info("training run %s: cancel requested by %s", run.pk, who)
    run.refresh_from_db()
    return run


def stop_for_shutdown(task_ids: Iterable[str]) -> int:
    """A worker is shutting down: ask the runs it is executing (by task id) to
    stop, as a cancel would. A training checks every few seconds and then ends
    cancelled, so the worker's warm shutdown, which waits for its running
    tasks, ends too instead of waiting out a training of minutes or hours.
    Returns how many runs were asked."""
    ids = [task_id for task_id in task_ids if task_id]
    if not ids:
        return 0
    asked = TrainingRun.objects.filter(
        task_id__in=ids, status=TrainingRun.Status.RUNNING, cancel_requested=False
    ).update(cancel_requested=True)
    if asked:
        logger.warning("worker shutting down: %d training run(s) asked to stop", asked)
    return asked


def fail_stale_runs() -> int:
    """Mark failed the runs whose worker is gone: running with a heartbeat older
    than TAGGER_HEARTBEAT_STALE_SECONDS, or queued for hours without starting.
    Their model versions fail too; the active version is never touched."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.TAGGER_HEARTBEAT_STALE_SECONDS)
    candidates = TrainingRun.objects.filter(
        Q(
            status=TrainingRun.Status.RUNNING,
            heartbeat_at__lt=stale_before,
        )
        | Q(
            status=TrainingRun.Status.RUNNING,
            heartbeat_at__isnull=True,
            started_at__lt=stale_before,
        )
        | Q(status=TrainingRun.Status.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER)
    )
    failed = 0
    for run in candidates:
        if run.status == TrainingRun.Status.RUNNING:
            seen = run.heartbeat_at or run.started_at
            error = (
                f"worker stopped responding (heartbeat at {seen.isoformat() if seen else 'never'})"
            )
        else:
            error = f"the task never started (queued at {run.created_at.isoformat()})"
        # Conditional on the heartbeat we read: a worker that beat in between wins.
        with transaction.atomic():
            updated = TrainingRun.objects.filter(
                pk=run.pk, status=run.status, heartbeat_at=run.heartbeat_at
            ).update(
                status=TrainingRun.Status.FAILED,
                in_flight=None,
                error=error,
                finished_at=now,
            )
            if updated and run.model_version_id:
                ModelVersion.objects.filter(
                    pk=run.model_version_id, status=ModelVersion.Status.TRAINING
                ).update(status=ModelVersion.Status.FAILED)
        if updated:
            failed += 1
            logger.warning("training run %s failed: %s", run.pk, error)
    return failed


def reviews_since_last_version() -> int:
    """Products a person reviewed since the newest trained version was created
    (failed ones count, so a failing training does not retry in a loop)."""
    last = (
        ModelVersion.objects.exclude(mode=ModelVersion.Mode.ZERO_SHOT)
        .order_by("-created_at", "-id")
        .first()
    )
    events = ReviewEvent.objects.filter(user__isnull=False, action__in=HUMAN_REVIEW_ACTIONS)
    if last is not None:
        events = events.filter(created_at__gt=last.created_at)
    return events.values("product_id").distinct().count()


def maybe_auto_retrain() -> TrainingRun | None:
    """Start a training when enough new reviews arrived (ProjectSettings.
    auto_retrain_after; 0 turns it off) and nothing is in flight."""
    threshold = ProjectSettings.load().auto_retrain_after
    if threshold <= 0 or in_flight_run() is not None:
        return None
    new_reviews = reviews_since_last_version()
    if new_reviews < threshold:
        return None
    logger.info("auto-retrain: %d new reviews (threshold %d)", new_reviews, threshold)
    try:
        return trigger_training(None)
    except TrainingInFlight:
        return None


def _log_line(text: str) -> str:
    return f"{timezone.now():%Y-%m-%d %H:%M:%S} {text}\n"

"""The one place the training app puts its Celery tasks on the queue.

Services call these functions inside the transaction that writes the rows the
task reads; the tasks in ``training.tasks`` call services. Every function goes
through annotation's transactional outbox (``annotation.services.outbox``): the
message is written with the data, sent after the commit, and sent by the outbox
sweep if the broker was down then. The task objects are looked up by name in
Celery's registry, which ``TrainingConfig.ready`` fills by importing the tasks
module, so the arrows stay one way: tasks -> services -> jobs, and no service
imports the tasks module. Never ``.delay()`` or ``.apply_async()`` here.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app
from django.conf import settings

from annotation.services import outbox, workers

TRAIN_MODEL = "training.tasks.train_model"
SCORE_CATALOG = "training.tasks.score_catalog"
SCORE_CHUNK = "training.tasks.score_chunk"
RANK_QUEUE = "training.tasks.rank_queue"
REMEASURE_VERSIONS = "training.tasks.remeasure_versions"


def training_queue() -> str:
    """The queue a training run's task goes to (TAGGER_GPU_QUEUE, else the default)."""
    return settings.TAGGER_GPU_QUEUE or workers.default_queue()


def scoring_queue() -> str:
    """The queue scoring goes to (TAGGER_SCORE_QUEUE through CELERY_TASK_ROUTES,
    else the default)."""
    return settings.TAGGER_SCORE_QUEUE or workers.default_queue()


def task(name: str) -> Task[Any, Any]:
    """The registered task called `name` (celery.exceptions.NotRegistered if none)."""
    return current_app.tasks[name]


def train_model(run_id: int) -> str:
    """Send a training run's task now (on TAGGER_GPU_QUEUE when set); returns
    the task id.

    The one send that does not wait for the sweep: an admin waits on this
    request, and a run the broker refused is recorded as failed (the caller
    does that), so the outbox records the message as failed for good and never
    starts the run later behind the admin's back. A short broker retry only;
    broker errors propagate for the caller to record."""
    options: dict[str, Any] = {"retry_policy": {"max_retries": 2, "interval_start": 0.5}}
    if settings.TAGGER_GPU_QUEUE:
        options["queue"] = settings.TAGGER_GPU_QUEUE
    return outbox.send_now(TRAIN_MODEL, run_id, options=options)


def score_catalog(version_id: int, *, full: bool = False) -> None:
    """Score every product the version has not scored yet (all of them when
    `full`); the task ranks the queue afterwards when the version is active."""
    outbox.enqueue(SCORE_CATALOG, version_id, None, full)


def score_chunks(version_id: int, chunks: list[list[int]]) -> None:
    """Fan a big scoring out as chunk tasks several workers share (one message
    per chunk; nothing waits on them as a group)."""
    for chunk in chunks:
        outbox.enqueue(SCORE_CHUNK, version_id, chunk)


def rank_queue(version_id: int | None = None) -> None:
    """Re-rank the review queue with the version's scores (default: the active one)."""
    outbox.enqueue(RANK_QUEUE, version_id)


def remeasure_versions(version_ids: list[int] | None = None) -> None:
    """Measure versions (default: every one that lacks figures) on the current
    evaluation set, so the models page compares them on the same ground."""
    outbox.enqueue(REMEASURE_VERSIONS, version_ids)

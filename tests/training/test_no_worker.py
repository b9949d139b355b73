"""Commands that wait on a worker say so when none consumes their queue."""

import uuid
from collections.abc import Iterator
from io import StringIO

import pytest
from celery import current_app
from django.core.management import CommandError, call_command
from django.test import override_settings

from annotation.services import workers
from tests.training.conftest import MakeCatalogue
from training import jobs
from training.models import TrainingRun


@pytest.fixture
def real_broker() -> Iterator[str]:
    """Tasks go to the configured broker (the test settings' filesystem broker,
    or Redis in the PostgreSQL run) instead of running eagerly, on a queue of
    this test's own that no worker consumes."""
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        yield f"tagger-test-nobody-{uuid.uuid4().hex[:10]}"
    finally:
        current_app.conf.task_always_eager = was


@pytest.mark.django_db
def test_consumers_of_a_queue_nobody_reads_is_none(real_broker: str) -> None:
    answer = workers.consumers(real_broker, timeout=0.5)
    assert answer.asked
    assert answer.workers == ()
    assert answer.none


def test_eager_tasks_count_this_process_as_the_worker() -> None:
    assert current_app.conf.task_always_eager  # the test settings
    assert not workers.consumers("anything", timeout=0.1).none


@pytest.mark.django_db
def test_an_unreachable_broker_is_not_reported_as_no_worker(
    real_broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(current_app.control, "inspect", refuse)
    answer = workers.consumers(real_broker, timeout=0.1)
    assert not answer.asked
    assert not answer.none


@pytest.mark.django_db
def test_train_wait_without_a_worker_cancels_and_says_how_to_start_one(
    real_broker: str, make_catalogue: MakeCatalogue
) -> None:
    make_catalogue(20)
    out, err = StringIO(), StringIO()
    with (
        override_settings(TAGGER_GPU_QUEUE=real_broker, TAGGER_WORKER_PING_SECONDS=0.5),
        pytest.raises(CommandError) as raised,
    ):
        call_command(
            "train", "--mode", "head", "--wait", "--worker-wait", "0", stdout=out, stderr=err
        )

    message = str(raised.value)
    assert f"no worker consumed the queue {real_broker!r}" in message
    assert f"celery -A tagger worker -Q {real_broker}" in message
    assert "manage.py train --inline" in message
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.CANCELLED
    assert f"training run {run.pk} queued" in out.getvalue()


@pytest.mark.django_db
def test_train_wait_warns_once_before_giving_up(
    real_broker: str, make_catalogue: MakeCatalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With some patience left, the hint comes at once and the run stays queued
    until the wait is over."""
    from training.management.commands import train

    make_catalogue(20)
    clock = iter(float(t) for t in range(0, 10_000, 5))
    monkeypatch.setattr(train.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(train.time, "sleep", lambda seconds: None)
    err = StringIO()
    with (
        override_settings(TAGGER_GPU_QUEUE=real_broker, TAGGER_WORKER_PING_SECONDS=0.2),
        pytest.raises(CommandError, match="for 30 s"),
    ):
        call_command(
            "train",
            "--mode",
            "head",
            "--wait",
            "--worker-wait",
            "30",
            stdout=StringIO(),
            stderr=err,
        )

    warnings = err.getvalue().count(f"No Celery worker consumes the queue {real_broker!r}")
    assert warnings == 1
    assert TrainingRun.objects.get().status == TrainingRun.Status.CANCELLED


def test_training_and_scoring_queues_follow_the_settings() -> None:
    with override_settings(TAGGER_GPU_QUEUE="", TAGGER_SCORE_QUEUE=""):
        assert jobs.training_queue() == "celery"
        assert jobs.scoring_queue() == "celery"
    with override_settings(TAGGER_GPU_QUEUE="gpu", TAGGER_SCORE_QUEUE="score-gpu"):
        assert jobs.training_queue() == "gpu"
        assert jobs.scoring_queue() == "score-gpu"

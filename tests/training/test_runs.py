from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from annotation.models import ProjectSettings, ReviewEvent
from tests.factories import ModelVersionFactory, ReviewEventFactory, TrainingRunFactory
from tests.training.conftest import MakeCatalogue
from training import errors, jobs, tasks
from training.models import ModelVersion, TrainingRun
from training.services import runs


def running_run(heartbeat_age_s: float, version: ModelVersion | None = None) -> TrainingRun:
    now = timezone.now()
    return TrainingRunFactory(
        mode="head",
        status=TrainingRun.Status.RUNNING,
        started_at=now - timedelta(seconds=heartbeat_age_s + 5),
        heartbeat_at=now - timedelta(seconds=heartbeat_age_s),
        model_version=version,
    )


@pytest.mark.django_db
def test_it_refuses_a_second_training_while_one_is_queued(admin_user: User) -> None:
    first = runs.trigger_training(admin_user, "head", enqueue=False)

    with pytest.raises(errors.TrainingInFlight, match=f"run {first.pk} is already queued"):
        runs.trigger_training(admin_user, "head")

    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_run_in_flight_even_in_a_race(
    admin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_run(heartbeat_age_s=1)
    # Both requests passed the friendly check before either inserted.
    monkeypatch.setattr(runs, "in_flight_run", lambda: None)

    with pytest.raises(errors.TrainingInFlight):
        runs.trigger_training(admin_user, "head")

    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_it_rejects_an_unknown_mode(admin_user: User) -> None:
    with pytest.raises(errors.InvalidTrainingMode, match="training mode"):
        runs.trigger_training(admin_user, "gigantic")


@pytest.mark.django_db
def test_an_unreachable_broker_fails_the_run_with_a_clear_error_and_frees_the_slot(
    admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.train_model, "apply_async", refuse)

    with (
        pytest.raises(errors.BrokerUnavailable),
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
    ):
        runs.trigger_training(admin_user, "head")

    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error.startswith("task broker unreachable: Error 111")
    assert run.in_flight is None
    monkeypatch.undo()
    assert runs.trigger_training(admin_user, "head", enqueue=False).status == "queued"


@pytest.mark.django_db
def test_the_task_is_routed_to_the_gpu_queue_when_one_is_configured(
    admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
) -> None:
    sent: dict = {}

    class Result:
        id = "task-1"

    def capture(*args: object, **kwargs: object) -> Result:
        sent.update(kwargs)
        return Result()

    monkeypatch.setattr(tasks.train_model, "apply_async", capture)

    with (
        override_settings(TAGGER_GPU_QUEUE="gpu"),
        django_capture_on_commit_callbacks(execute=True),  # type: ignore[operator]
    ):
        run = runs.trigger_training(admin_user, "full")

    assert sent["queue"] == "gpu"
    assert sent["args"] == [run.pk]
    run.refresh_from_db()
    assert run.task_id == "task-1"


@pytest.mark.django_db
def test_cancelling_a_queued_run_ends_it_at_once(admin_user: User) -> None:
    run = runs.trigger_training(admin_user, "head", enqueue=False)

    runs.cancel_training(run, admin_user)

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert run.in_flight is None


@pytest.mark.django_db
def test_cancelling_a_running_run_asks_the_worker_to_stop() -> None:
    run = running_run(heartbeat_age_s=1)

    runs.cancel_training(run)

    run.refresh_from_db()
    assert run.cancel_requested
    assert run.status == TrainingRun.Status.RUNNING  # the worker ends it at its next check


@pytest.mark.django_db
def test_a_run_with_a_stale_heartbeat_is_failed_with_its_version() -> None:
    version = ModelVersionFactory(mode="head", base_model="x")
    stale = running_run(heartbeat_age_s=600, version=version)

    with override_settings(TAGGER_HEARTBEAT_STALE_SECONDS=120):
        failed = runs.fail_stale_runs()

    assert failed == 1
    stale.refresh_from_db()
    version.refresh_from_db()
    assert stale.status == TrainingRun.Status.FAILED
    assert stale.error.startswith("worker stopped responding (heartbeat at ")
    assert stale.in_flight is None
    assert version.status == ModelVersion.Status.FAILED


@pytest.mark.django_db
def test_a_run_with_a_fresh_heartbeat_is_left_alone() -> None:
    run = running_run(heartbeat_age_s=5)

    with override_settings(TAGGER_HEARTBEAT_STALE_SECONDS=120):
        assert runs.fail_stale_runs() == 0

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING


@pytest.mark.django_db
def test_a_run_queued_for_hours_without_a_worker_is_failed() -> None:
    run = TrainingRunFactory(mode="head")
    TrainingRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - runs.QUEUED_STALE_AFTER - timedelta(minutes=1)
    )

    assert runs.fail_stale_runs() == 1

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "never started" in run.error


def review(user: User, products: list, when: timezone.datetime | None = None) -> None:
    for product in products:
        event = ReviewEventFactory(user=user, product=product, action=ReviewEvent.Action.ACCEPT)
        if when is not None:
            ReviewEvent.objects.filter(pk=event.pk).update(created_at=when)


@pytest.mark.django_db
def test_auto_retrain_waits_for_enough_new_reviews(
    make_catalogue: MakeCatalogue, merchandiser: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    products = make_catalogue(10)
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auto_retrain_after": 5})
    started: list = []
    monkeypatch.setattr(jobs, "train_model", lambda run_id: started.append(run_id) or "")
    old = ModelVersionFactory(mode="head", base_model="x", status="active")
    review(merchandiser, products[:3], when=old.created_at - timedelta(minutes=1))
    review(merchandiser, products[3:7])  # 4 products since the last version

    assert runs.maybe_auto_retrain() is None

    review(merchandiser, products[7:8])  # the 5th
    run = runs.maybe_auto_retrain()

    assert run is not None
    assert run.status == TrainingRun.Status.QUEUED


@pytest.mark.django_db
def test_auto_retrain_is_off_at_zero_and_never_doubles_a_run(
    make_catalogue: MakeCatalogue, merchandiser: User
) -> None:
    products = make_catalogue(4)
    review(merchandiser, products)
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auto_retrain_after": 0})
    assert runs.maybe_auto_retrain() is None

    ProjectSettings.objects.filter(pk=1).update(auto_retrain_after=1)
    running_run(heartbeat_age_s=1)
    assert runs.maybe_auto_retrain() is None
    assert TrainingRun.objects.count() == 1

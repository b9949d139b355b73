from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from tests.api.conftest import World
from tests.factories import TrainingRunFactory
from training import tasks
from training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db
RUNS = reverse("api:training-runs")


def test_triggering_queues_a_run(world: World, integrations: APIClient) -> None:
    response = integrations.post(RUNS, {"mode": "head"}, format="json")

    body = response.json()
    assert response.status_code == 201, body
    assert (body["mode"], body["status"], body["progress"]) == ("head", "queued", 0.0)
    assert body["created_by"].startswith("admin-")
    assert TrainingRun.objects.get().pk == body["id"]


def test_a_second_trigger_while_one_is_in_flight_is_a_409(
    world: World, integrations: APIClient
) -> None:
    first = integrations.post(RUNS, {}, format="json").json()

    response = integrations.post(RUNS, {}, format="json")

    assert response.status_code == 409
    assert f"Training run {first['id']} is already queued" in response.json()["detail"]


def test_an_unknown_mode_is_a_400(world: World, integrations: APIClient) -> None:
    response = integrations.post(RUNS, {"mode": "turbo"}, format="json")

    assert response.status_code == 400
    assert "mode" in response.json()


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_is_a_503_and_the_run_is_recorded_failed(
    make_client: Callable[[str], tuple[APIClient, User | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: no transaction around the test, so the enqueue runs at commit, in the request
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.train_model, "apply_async", refuse)
    client, _ = make_client("admin")

    response = client.post(RUNS, {"mode": "head"}, format="json")

    assert response.status_code == 503
    assert "connection refused" in response.json()["detail"]
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED
    assert "broker unreachable" in run.error


def test_a_run_shows_its_progress_and_can_be_cancelled(
    world: World, integrations: APIClient
) -> None:
    run = TrainingRunFactory(
        mode="head", status=TrainingRun.Status.RUNNING, progress=42.0, stage="epoch 2/5"
    )

    shown = integrations.get(reverse("api:training-run", args=[run.pk])).json()
    cancelled = integrations.post(reverse("api:training-run-cancel", args=[run.pk])).json()

    assert (shown["progress"], shown["stage"], shown["error"]) == (42.0, "epoch 2/5", "")
    assert cancelled["cancel_requested"] is True
    assert cancelled["status"] == "running"  # it stops at its next check


def test_versions_are_listed_with_their_metrics(world: World, integrations: APIClient) -> None:
    body = integrations.get(reverse("api:model-versions")).json()

    (version,) = body["results"]
    assert (version["id"], version["status"]) == (world.version.pk, "active")
    assert (version["micro_f1"], version["macro_f1"]) == (0.5, 0.4)


def test_promoting_archives_the_previous_version(world: World, integrations: APIClient) -> None:
    newer = world.version_with_files()

    response = integrations.post(reverse("api:model-version-promote", args=[newer.pk]))

    assert response.status_code == 200
    assert response.json()["status"] == "active"
    world.version.refresh_from_db()
    assert world.version.status == ModelVersion.Status.ARCHIVED


def test_a_failed_version_cannot_be_promoted(world: World, integrations: APIClient) -> None:
    failed = world.version_with_files(ModelVersion.Status.FAILED)

    response = integrations.post(reverse("api:model-version-promote", args=[failed.pk]))

    assert response.status_code == 409
    assert "only a ready or archived version" in response.json()["detail"]


def test_rolling_back_to_a_newer_version_is_refused(world: World, integrations: APIClient) -> None:
    newer = world.version_with_files()

    response = integrations.post(reverse("api:model-version-rollback", args=[newer.pk]))

    assert response.status_code == 409
    assert "promote it instead" in response.json()["detail"]

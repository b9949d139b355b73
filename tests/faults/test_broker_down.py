"""The task broker is down when an admin starts a training.

The run row is written first and the task sent after commit; when the broker
refuses, the run is recorded as failed with the reason (so nothing is lost and
the one-run-in-flight slot is free again), the API answers 503 with that reason
and the models page shows it. Once the broker is back, the same request works."""

import uuid

import pytest
import redis
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.faults.conftest import celery_broker, closed_port
from training.models import TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)

RUNS_URL = "/api/v1/training/runs/"
LIVE_BROKER = "redis://127.0.0.1:6379/14"


def _down_broker() -> str:
    return f"redis://127.0.0.1:{closed_port()}/0"


@pytest.fixture
def integrations(admin_user: User) -> APIClient:
    client = APIClient()
    client.force_login(admin_user)
    return client


def test_the_api_answers_503_with_the_reason_and_records_the_failed_run(
    integrations: APIClient,
) -> None:
    # given a broker nobody listens on
    with celery_broker(_down_broker()):
        # when an admin starts a training
        response = integrations.post(RUNS_URL, {"mode": "head"}, format="json")

    # then the answer says why, and the run is on record as failed
    assert response.status_code == 503
    assert "Training could not be queued: task broker unreachable" in response.json()["detail"]
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error.startswith("task broker unreachable:")
    assert run.in_flight is None
    assert run.finished_at is not None


def test_the_models_page_tells_the_admin_the_training_was_not_queued(admin_user: User) -> None:
    client = Client()
    client.force_login(admin_user)

    with celery_broker(_down_broker()):
        response = client.post("/training/train/", {"mode": "head"}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "The training could not be queued" in page
    assert "Start the broker and try again." in page
    # and later, the failed run and its error are listed where admins look for them
    later = client.get("/training/").content.decode()
    assert "Start the broker and try again." not in later
    assert "task broker unreachable" in later
    assert TrainingRun.objects.get().status == TrainingRun.Status.FAILED


@pytest.mark.integration
def test_once_the_broker_is_back_the_same_request_queues_the_training(
    integrations: APIClient, redis_required: None
) -> None:
    # given a training refused while the broker was down
    with celery_broker(_down_broker()):
        assert integrations.post(RUNS_URL, {"mode": "head"}, format="json").status_code == 503

    # when the broker is back (a queue of its own: no worker takes the task away)
    queue = f"tagger-test-{uuid.uuid4().hex[:12]}"
    try:
        with override_settings(TAGGER_GPU_QUEUE=queue), celery_broker(LIVE_BROKER):
            response = integrations.post(RUNS_URL, {"mode": "head"}, format="json")
        waiting = redis.Redis.from_url(LIVE_BROKER).llen(queue)
    finally:
        redis.Redis.from_url(LIVE_BROKER).delete(queue)

    # then the run is queued with its task id and the message waits on the broker
    assert response.status_code == 201, response.content
    queued = TrainingRun.objects.get(pk=response.json()["id"])
    assert queued.status == TrainingRun.Status.QUEUED
    assert queued.task_id
    assert waiting == 1
    assert TrainingRun.objects.filter(status=TrainingRun.Status.FAILED).count() == 1

"""The task broker is down while requests commit data that has side effects.

Every side effect goes through the transactional outbox: its message is written
in the transaction that commits the data, sent after the commit, and left
pending when the broker refuses it. So the request still succeeds (the data is
committed: a 500 would only make the client retry a done thing), and when the
broker is back the sweep sends every pending message, each exactly once. A
training the broker refused is the exception: the admin gets a 503, the run is
recorded as failed, and its message is never sent later."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from django.core.management import CommandError, call_command
from django.db import connections
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import OutboxMessage, WebhookDelivery
from annotation.services import outbox
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    TagFactory,
    TagGroupFactory,
    UserFactory,
    WebhookFactory,
)
from tests.faults.conftest import celery_broker, closed_port
from tests.test_login import _redis_cache_url
from training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)

DELIVER_WEBHOOK = "annotation.tasks.deliver_webhook"
SCORE_CATALOG = "training.tasks.score_catalog"


def _down_broker() -> str:
    return f"redis://127.0.0.1:{closed_port()}/0"


def _sent(app: Celery) -> list[tuple[str, list[Any]]]:
    """Take every message off the broker's default queue: (task name, args)."""
    taken: list[tuple[str, list[Any]]] = []
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get("celery", no_ack=True)) is not None:
            taken.append((message.headers["task"], list(message.decode()[0])))
    return taken


@pytest.fixture(params=["memory", "redis"])
def live_broker(request: pytest.FixtureRequest) -> Iterator[str]:
    """A broker that works again: kombu's in-process one, and Redis when the
    environment names one (TAGGER_TEST_REDIS_URL, a database of its own)."""
    if request.param == "memory":
        yield "memory://"
        return
    url = _redis_cache_url()
    if url is None:
        pytest.skip("set TAGGER_TEST_REDIS_URL to a reachable Redis to run this one")
    redis.Redis.from_url(url).delete("celery")
    yield url
    redis.Redis.from_url(url).delete("celery")


@pytest.fixture
def reviewer() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="rita", role=roles.MERCHANDISER))
    return client


@pytest.fixture
def admin_api() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="ada", role=roles.ADMIN, is_staff=True))
    return client


def test_a_review_submitted_while_the_broker_is_down_succeeds_and_its_webhook_goes_later(
    reviewer: APIClient, live_broker: str
) -> None:
    # given a webhook, and a product to review
    WebhookFactory(url="https://example.com/hook")
    TagFactory(group=TagGroupFactory(name="colour"), name="red")
    ProductFactory(external_id="sku-1", queued=True)

    # when the broker is down while the reviewer claims and submits
    with celery_broker(_down_broker()):
        claimed = reviewer.post("/api/v1/review/next/")
        response = reviewer.post(
            "/api/v1/products/sku-1/review/",
            {"decisions": [{"tag": "colour:red", "approved": True}]},
            format="json",
        )

    # then the committed review is a success, and its delivery waits in the outbox
    assert claimed.status_code == 200, claimed.content
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    message = OutboxMessage.objects.get(task_name=DELIVER_WEBHOOK)
    assert (message.status, message.args) == (OutboxMessage.Status.PENDING, [delivery.pk])
    assert message.last_error  # what the broker said

    # when the broker is back, the sweep sends it once; a second sweep sends nothing
    with celery_broker(live_broker) as app:
        _sent(app)
        first = outbox.dispatch_pending()
        second = outbox.dispatch_pending()
        sent = _sent(app)
    assert sent == [(DELIVER_WEBHOOK, [delivery.pk])]
    assert (first.sent, second.sent) == (1, 0)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.DISPATCHED
    assert message.dispatched_at is not None


def test_a_request_with_several_side_effects_waits_on_a_down_broker_once(
    reviewer: APIClient,
) -> None:
    # given three webhooks: a review makes three deliveries
    for n in range(3):
        WebhookFactory(url=f"https://example.com/hook-{n}")
    TagFactory(group=TagGroupFactory(name="colour"), name="red")
    ProductFactory(external_id="sku-1", queued=True)

    with celery_broker(_down_broker()):
        reviewer.post("/api/v1/review/next/")
        response = reviewer.post(
            "/api/v1/products/sku-1/review/",
            {"decisions": [{"tag": "colour:red", "approved": True}]},
            format="json",
        )

    # then the broker was tried for the first message only; all three wait
    assert response.status_code == 200, response.content
    messages = list(OutboxMessage.objects.filter(task_name=DELIVER_WEBHOOK))
    assert [m.status for m in messages] == [OutboxMessage.Status.PENDING] * 3
    assert sorted(m.attempts for m in messages) == [0, 0, 1]


def test_a_product_created_while_the_broker_is_down_is_scored_once_it_is_back(
    admin_api: APIClient, live_broker: str
) -> None:
    # given an active model that scores every new product
    version = ModelVersionFactory(status=ModelVersion.Status.ACTIVE)

    with celery_broker(_down_broker()):
        response = admin_api.post(
            "/api/v1/products/", {"id": "sku-9", "title": "Linen lamp"}, format="json"
        )

    assert response.status_code == 201, response.content
    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
    assert [(m.task_name, m.args) for m in pending] == [(SCORE_CATALOG, [version.pk, None, False])]

    with celery_broker(live_broker) as app:
        _sent(app)
        outbox.dispatch_pending()
        outbox.dispatch_pending()
        sent = _sent(app)
    assert sent == [(SCORE_CATALOG, [version.pk, None, False])]
    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()


def test_two_sweeps_at_once_send_each_message_once() -> None:
    # given 30 messages the broker refused
    with celery_broker(_down_broker()):
        for n in range(30):
            outbox.enqueue(DELIVER_WEBHOOK, n)
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 30

    # when two sweeps run at the same moment
    start = threading.Barrier(2)

    def sweep() -> None:
        try:
            start.wait()
            outbox.dispatch_pending()
        finally:
            connections.close_all()

    with celery_broker("memory://") as app:
        _sent(app)
        sweeps = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in sweeps:
            thread.start()
        for thread in sweeps:
            thread.join()
        sent = _sent(app)

    # then every message went out exactly once
    assert sorted(args[0] for _name, args in sent) == list(range(30))
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.DISPATCHED).exists()


def test_a_training_the_broker_refused_is_never_started_later(admin_api: APIClient) -> None:
    with celery_broker(_down_broker()):
        response = admin_api.post("/api/v1/training/runs/", {"mode": "head"}, format="json")

    assert response.status_code == 503
    assert TrainingRun.objects.get().status == TrainingRun.Status.FAILED
    message = OutboxMessage.objects.get(task_name="training.tasks.train_model")
    assert message.status == OutboxMessage.Status.FAILED

    with celery_broker("memory://") as app:
        _sent(app)
        outbox.dispatch_pending()
        assert _sent(app) == []


def test_the_operators_command_reports_a_down_broker_and_sends_once_it_is_back() -> None:
    with celery_broker(_down_broker()):
        outbox.enqueue(DELIVER_WEBHOOK, 7)
        with pytest.raises(CommandError, match="broker refused"):
            call_command("dispatch_outbox")

    with celery_broker("memory://") as app:
        _sent(app)
        call_command("dispatch_outbox")
        assert _sent(app) == [(DELIVER_WEBHOOK, [7])]

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import OutboxMessage, Webhook, WebhookDelivery
from annotation.services.review import Decision, submit_review
from annotation.tasks import WEBHOOK_MAX_ATTEMPTS
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


@dataclass
class Receiver:
    """A local HTTP endpoint that records what it is sent and answers `status`."""

    url: str
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    # The receiver listens on loopback, which webhooks reach only when allowed.
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def _register(integrations: APIClient, url: str) -> dict[str, Any]:
    response = integrations.post(reverse("api:webhooks"), {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_review_sends_a_signed_delivery(
    world: World,
    integrations: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given
    hook = _register(integrations, receiver.url)
    reviewer = make_user("rita")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        submit_review(reviewer, world.products[2], [Decision(world.green.pk, True)])
    # then
    ((headers, body),) = receiver.received
    delivery = WebhookDelivery.objects.get()
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = hmac.new(hook["secret"].encode(), signed, hashlib.sha256).digest()
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert "X-Tagger-Signature" not in headers
    assert json.loads(body)["products"] == [{"id": "sku-3", "tags": ["color:green"]}]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


def test_a_failing_endpoint_is_retried_with_backoff_then_marked_failed(
    world: World,
    integrations: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: an endpoint answering 500 (eager tasks run each retry at once)
    receiver.status = 500
    hook = _register(integrations, receiver.url)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])
    # then: every retry went through the outbox with its backoff as the eta
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == WEBHOOK_MAX_ATTEMPTS
    assert delivery.response_code == 500
    assert len(receiver.received) == WEBHOOK_MAX_ATTEMPTS
    retries = OutboxMessage.objects.filter(task_name="annotation.tasks.deliver_webhook")
    countdowns = [
        round((m.not_before - m.created_at).total_seconds()) for m in retries if m.not_before
    ]
    assert countdowns == [10, 20, 40, 80, 160]
    assert {m.status for m in retries} == {OutboxMessage.Status.DISPATCHED}

    listed = integrations.get(reverse("api:webhook-deliveries", args=[hook["id"]])).json()
    assert [(d["status"], d["attempts"]) for d in listed["results"]] == [
        ("failed", WEBHOOK_MAX_ATTEMPTS)
    ]


def test_the_secret_is_generated_and_shown_only_on_creation(
    integrations: APIClient, receiver: Receiver
) -> None:
    created = _register(integrations, receiver.url)

    shown = integrations.get(reverse("api:webhook", args=[created["id"]])).json()
    listed = integrations.get(reverse("api:webhooks")).json()["results"]
    assert len(created["secret"]) >= 32
    assert Webhook.objects.get().secret == created["secret"]
    assert "secret" not in shown
    assert all("secret" not in hook for hook in listed)


def test_a_given_secret_is_kept(integrations: APIClient) -> None:
    response = integrations.post(
        reverse("api:webhooks"),
        {"url": "https://example.com/h", "secret": "a-long-shared-secret"},
        format="json",
    )

    assert response.json()["secret"] == "a-long-shared-secret"


@pytest.mark.parametrize("url", ["ftp://example.com/h", "not a url", "file:///etc/passwd"])
def test_only_http_urls_are_accepted(integrations: APIClient, url: str) -> None:
    response = integrations.post(reverse("api:webhooks"), {"url": url}, format="json")

    assert response.status_code == 400
    assert "url" in response.json()


def test_an_inactive_webhook_gets_no_deliveries(
    world: World,
    integrations: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    hook = _register(integrations, receiver.url)
    patched = integrations.patch(
        reverse("api:webhook", args=[hook["id"]]), {"active": False}, format="json"
    )

    with django_capture_on_commit_callbacks(execute=True):
        submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])

    assert patched.json()["active"] is False
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()

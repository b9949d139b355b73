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

from annotation.models import Webhook, WebhookDelivery
from annotation.services.review import Decision, submit_review
from annotation.tasks import WEBHOOK_MAX_ATTEMPTS, deliver_webhook
from tagger.celery import app as celery_app
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


@dataclass
class Receiver:
    """A local HTTP endpoint that records what it is sent and answers `status`."""

    url: str
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
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


def _register(admin_api: APIClient, url: str) -> dict[str, Any]:
    response = admin_api.post(reverse("api:webhooks"), {"url": url}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_review_sends_a_signed_delivery(
    world: World,
    admin_api: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given
    hook = _register(admin_api, receiver.url)
    reviewer = make_user("rita")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        submit_review(reviewer, world.products[2], [Decision(world.green.pk, True)])
    # then
    ((headers, body),) = receiver.received
    expected = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Tagger-Signature"] == f"sha256={expected}"
    assert json.loads(body)["products"] == [{"id": "sku-3", "tags": ["color:green"]}]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """A worker handles a retry by running the task again; eager mode does so only
    when it does not propagate the Retry to the caller."""
    before = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = before


@pytest.mark.usefixtures("eager_retries")
def test_a_failing_endpoint_is_retried_with_backoff_then_marked_failed(
    world: World,
    admin_api: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: an endpoint answering 500, and retries recorded instead of waited for
    receiver.status = 500
    hook = _register(admin_api, receiver.url)
    countdowns: list[int] = []
    original_retry = deliver_webhook.retry

    def recording_retry(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return original_retry(*args, **{**kwargs, "countdown": 0})

    monkeypatch.setattr(deliver_webhook, "retry", recording_retry)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])
    # then
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == WEBHOOK_MAX_ATTEMPTS
    assert delivery.response_code == 500
    assert len(receiver.received) == WEBHOOK_MAX_ATTEMPTS
    assert countdowns == [10, 20, 40, 80, 160]

    listed = admin_api.get(reverse("api:webhook-deliveries", args=[hook["id"]])).json()
    assert [(d["status"], d["attempts"]) for d in listed["results"]] == [
        ("failed", WEBHOOK_MAX_ATTEMPTS)
    ]


def test_the_secret_is_generated_and_shown_only_on_creation(
    admin_api: APIClient, receiver: Receiver
) -> None:
    created = _register(admin_api, receiver.url)

    shown = admin_api.get(reverse("api:webhook", args=[created["id"]])).json()
    listed = admin_api.get(reverse("api:webhooks")).json()["results"]
    assert len(created["secret"]) >= 32
    assert Webhook.objects.get().secret == created["secret"]
    assert "secret" not in shown
    assert all("secret" not in hook for hook in listed)


def test_a_given_secret_is_kept(admin_api: APIClient) -> None:
    response = admin_api.post(
        reverse("api:webhooks"),
        {"url": "https://example.com/h", "secret": "a-long-shared-secret"},
        format="json",
    )

    assert response.json()["secret"] == "a-long-shared-secret"


@pytest.mark.parametrize("url", ["ftp://example.com/h", "not a url", "file:///etc/passwd"])
def test_only_http_urls_are_accepted(admin_api: APIClient, url: str) -> None:
    response = admin_api.post(reverse("api:webhooks"), {"url": url}, format="json")

    assert response.status_code == 400
    assert "url" in response.json()


def test_an_inactive_webhook_gets_no_deliveries(
    world: World,
    admin_api: APIClient,
    receiver: Receiver,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    hook = _register(admin_api, receiver.url)
    patched = admin_api.patch(
        reverse("api:webhook", args=[hook["id"]]), {"active": False}, format="json"
    )

    with django_capture_on_commit_callbacks(execute=True):
        submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])

    assert patched.json()["active"] is False
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()

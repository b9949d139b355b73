"""Webhooks are safe by construction: no internal targets (at registration and
again at delivery, connecting to the checked address), no redirects, Standard
Webhooks signatures a receiver can check for replays, no delivery to a hook
that was deactivated or re-pointed, every failure recorded (generically for the
network), and a write-only secret in the Django admin."""

import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from annotation.models import OutboxMessage, Webhook, WebhookDelivery
from annotation.services import outbox, webhook_targets, webhooks
from annotation.services.review import Decision, submit_review
from annotation.tasks import deliver_webhook
from tests.api.conftest import World
from tests.factories import ProductFactory, UserFactory, WebhookFactory

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhooks/"


@dataclass
class Endpoint:
    """A local HTTP endpoint: records each request and answers `status` (with
    `location` as the Location header when set)."""

    url: str
    host: str
    port: int
    status: int = 200
    location: str = ""
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def serve() -> Iterator[Callable[..., Endpoint]]:
    servers: list[ThreadingHTTPServer] = []

    def start(host: str = "127.0.0.1", port: int = 0) -> Endpoint:
        state = Endpoint(url="", host=host, port=0)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                state.received.append((self.command, dict(self.headers), self.rfile.read(length)))
                self.send_response(state.status)
                if state.location:
                    self.send_header("Location", state.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.port = server.server_address[1]
        state.url = f"http://{host}:{state.port}/hook"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.0/8"]


def _resolve_as(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> None:
    """Make the webhook resolver answer `names` (other names as before)."""
    before = webhook_targets._getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list:
        if host in names:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, int(port)),
                )
                for a in names[host]
            ]
        return before(host, port, *args, **kwargs)

    monkeypatch.setattr(webhook_targets, "_getaddrinfo", getaddrinfo)


def _pending_delivery(hook: Webhook) -> WebhookDelivery:
    """A delivery for `hook`, created the way a review creates one (its outbox
    message is left unsent: the test's transaction never commits)."""
    product = ProductFactory()
    webhooks.notify_approval_changes([product.pk])
    return WebhookDelivery.objects.get(webhook=hook)


# -- registration ---------------------------------------------------------------------

INTERNAL_URLS = [
    "http://127.0.0.1:6379/",
    "http://localhost:5432/",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://0.0.0.0:8000/",
    "http://224.0.0.1/",
    "http://100.64.0.1/",
    "http://240.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::]/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_webhook_to_an_internal_address_is_refused(integrations: APIClient, url: str) -> None:
    response = integrations.post(HOOKS, {"url": url}, format="json")

    assert response.status_code == 400, response.content
    assert "internal addresses" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def test_a_name_that_resolves_to_an_internal_address_is_refused(
    integrations: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve_as(monkeypatch, {"intranet.example.com": ["93.184.215.14", "10.1.2.3"]})

    response = integrations.post(HOOKS, {"url": "https://intranet.example.com/h"}, format="json")

    assert response.status_code == 400
    assert "intranet.example.com resolves to one" in response.json()["url"][0]


def test_a_host_that_does_not_resolve_is_refused(integrations: APIClient) -> None:
    response = integrations.post(HOOKS, {"url": "https://nowhere.invalid/h"}, format="json")

    assert response.status_code == 400
    assert "could not be resolved" in response.json()["url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://user%0d%0aX-Injected:%201@example.com/h",
        "http://user:password@example.com/h",
    ],
)
def test_a_url_with_credentials_or_encoded_line_breaks_is_refused(
    integrations: APIClient, url: str
) -> None:
    response = integrations.post(HOOKS, {"url": url}, format="json")

    assert response.status_code == 400
    assert "user name or password" in response.json()["url"][0]


def test_changing_the_url_to_an_internal_address_is_refused(integrations: APIClient) -> None:
    hook = integrations.post(HOOKS, {"url": "https://example.com/h"}, format="json").json()

    response = integrations.patch(
        f"{HOOKS}{hook['id']}/", {"url": "http://169.254.169.254/"}, format="json"
    )

    assert response.status_code == 400
    assert Webhook.objects.get().url == "https://example.com/h"


@pytest.mark.parametrize(
    ("allowed", "url", "still_refused"),
    [
        (["127.0.0.1"], "http://127.0.0.1:9000/hook", "http://127.0.0.2:9000/hook"),
        (["10.0.0.0/8"], "http://10.20.30.40/hook", "http://192.168.1.1/hook"),
        (["localhost"], "http://localhost:9000/hook", "http://127.0.0.1:9000/hook"),
        (["::1"], "http://[::1]:9000/hook", "http://[fe80::1]/hook"),
    ],
)
def test_the_allow_list_lets_only_the_named_internal_targets_through(
    integrations: APIClient, settings: Any, allowed: list[str], url: str, still_refused: str
) -> None:
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = allowed

    named = integrations.post(HOOKS, {"url": url}, format="json")
    other = integrations.post(HOOKS, {"url": still_refused}, format="json")

    assert named.status_code == 201, named.content
    assert other.status_code == 400, other.content


INTERNAL_ADDRESSES = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.1.1",
    "100.64.1.1",
    "::1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "fec0::1",  # site-local
    "ff02::1",
]
PUBLIC_ADDRESSES = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


def test_an_address_is_internal_in_every_form_and_public_ones_are_not() -> None:
    internal = [a for a in INTERNAL_ADDRESSES + PUBLIC_ADDRESSES if _internal(a)]

    assert internal == INTERNAL_ADDRESSES


def _internal(address: str) -> bool:
    return webhook_targets.is_internal(ipaddress.ip_address(address))


# -- delivery -------------------------------------------------------------------------


def test_a_name_that_turns_internal_after_registration_gets_no_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a hook registered while its name resolved to a public address
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    hook = webhooks.create_webhook(url=f"http://rebind.example.com:{port}/h", created_by=None)
    delivery = _pending_delivery(hook)
    # when the name now resolves to loopback (DNS rebinding)
    _resolve_as(monkeypatch, {"rebind.example.com": ["127.0.0.1"]})
    deliver_webhook(delivery.pk)
    # then the delivery failed for good, and nothing connected to the address
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.error == "target refused: internal or reserved address"
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


@pytest.mark.usefixtures("loopback_allowed")
def test_the_delivery_connects_to_the_address_that_was_checked(
    serve: Callable[..., Endpoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two endpoints on one port: the checked address and another one
    checked = serve("127.0.0.2")
    other = serve("127.0.0.1", checked.port)
    hook = WebhookFactory(url=f"http://pinned.example.com:{checked.port}/hook")
    delivery = _pending_delivery(hook)
    _resolve_as(monkeypatch, {"pinned.example.com": ["127.0.0.2"]})
    # and a system resolver that would answer differently when connecting
    real = socket.getaddrinfo

    def moved(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "pinned.example.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", moved)
    # when
    deliver_webhook(delivery.pk)
    # then the payload went to the address that was checked, with the name as Host
    assert len(checked.received) == 1
    assert other.received == []
    assert checked.received[0][1]["Host"] == f"pinned.example.com:{checked.port}"


@pytest.mark.usefixtures("loopback_allowed")
def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(
    serve: Callable[..., Endpoint],
) -> None:
    elsewhere = serve()
    endpoint = serve()
    endpoint.status, endpoint.location = 302, elsewhere.url
    delivery = _pending_delivery(WebhookFactory(url=endpoint.url))

    deliver_webhook(delivery.pk)

    delivery.refresh_from_db()
    assert len(endpoint.received) == 1
    assert elsewhere.received == []
    assert delivery.status == WebhookDelivery.Status.PENDING  # to be retried
    assert delivery.response_code == 302
    assert delivery.error == "HTTP 302: redirects are not followed"
    retry = OutboxMessage.objects.get(not_before__isnull=False, args=[delivery.pk])
    assert retry.status == OutboxMessage.Status.PENDING


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/security.md shows it."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False  # too old (or from the future): a replay
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    ).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split(" ")
        if sig.startswith("v1,")
    )


@pytest.mark.usefixtures("loopback_allowed")
def test_deliveries_carry_standard_webhooks_signatures_a_receiver_can_check(
    serve: Callable[..., Endpoint],
) -> None:
    endpoint = serve()
    hook = WebhookFactory(url=endpoint.url)
    delivery = _pending_delivery(hook)

    deliver_webhook(delivery.pk)

    ((_method, headers, body),) = endpoint.received
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert verify(hook.secret, headers, body)
    # a changed body, an old timestamp (a replay) or another id do not verify
    assert not verify(hook.secret, headers, body.replace(b"tags.changed", b"tags.changeD"))
    old = str(int(headers["webhook-timestamp"]) - 3600)
    assert not verify(hook.secret, {**headers, "webhook-timestamp": old}, body)
    assert not verify(hook.secret, {**headers, "webhook-id": "msg_0"}, body)
    assert json.loads(body)["event"] == "tags.changed"


@pytest.mark.usefixtures("loopback_allowed")
def test_deactivating_a_hook_stops_its_retries(
    serve: Callable[..., Endpoint], integrations: APIClient
) -> None:
    # given a delivery whose first attempt failed and whose retry is queued
    endpoint = serve()
    endpoint.status = 503
    hook = WebhookFactory(url=endpoint.url)
    delivery = _pending_delivery(hook)
    deliver_webhook(delivery.pk)
    # when the hook is deactivated, and the queued retry goes out
    integrations.patch(f"{HOOKS}{hook.pk}/", {"active": False}, format="json")
    outbox.dispatch_pending()
    # then nothing more was sent, and the log says why
    delivery.refresh_from_db()
    assert len(endpoint.received) == 1
    assert delivery.status == WebhookDelivery.Status.CANCELLED
    assert delivery.error == "the webhook was deactivated"


@pytest.mark.usefixtures("loopback_allowed")
def test_a_re_pointed_hook_never_gets_payloads_made_before_the_change(
    serve: Callable[..., Endpoint], integrations: APIClient
) -> None:
    # given a failed first attempt to the old address, its retry queued
    old, new = serve(), serve()
    old.status = 500
    hook = WebhookFactory(url=old.url)
    delivery = _pending_delivery(hook)
    deliver_webhook(delivery.pk)
    # when the hook is pointed elsewhere and the retry goes out
    response = integrations.patch(f"{HOOKS}{hook.pk}/", {"url": new.url}, format="json")
    outbox.dispatch_pending()
    # then the new address got nothing of the old payload
    delivery.refresh_from_db()
    assert response.json()["version"] == 2
    assert new.received == []
    assert len(old.received) == 1
    assert delivery.status == WebhookDelivery.Status.CANCELLED
    assert delivery.error == "the webhook was re-pointed"
    # and a change made after it goes to the new address
    later = _pending_delivery_after(hook)
    deliver_webhook(later.pk)
    assert len(new.received) == 1


def _pending_delivery_after(hook: Webhook) -> WebhookDelivery:
    product = ProductFactory()
    webhooks.notify_approval_changes([product.pk])
    return WebhookDelivery.objects.filter(webhook=hook).latest("id")


@pytest.mark.parametrize(
    "url",
    [
        "http://a%0d%0ab@127.0.0.1:9/h",
        "http://127.0.0.1:9/h\r\nX-Injected: 1",
        "http://user:pw@127.0.0.1:9/h",
    ],
)
def test_a_delivery_to_a_malformed_stored_url_is_recorded_as_failed(
    url: str, settings: Any
) -> None:
    # given a row that bypassed validation (an old row, a raw database edit)
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    delivery = _pending_delivery(WebhookFactory(url=url))

    deliver_webhook(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.error == "target refused: the URL is not valid"


@pytest.mark.usefixtures("loopback_allowed")
def test_any_error_during_a_delivery_is_recorded_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delivery = _pending_delivery(WebhookFactory(url="http://127.0.0.1:9/h"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(webhook_targets, "pinned_connection", broken)
    deliver_webhook(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.error == "internal error (RuntimeError)"
    assert delivery.attempts == 1


@pytest.mark.usefixtures("loopback_allowed")
def test_the_log_does_not_tell_a_closed_port_from_a_dropped_connection() -> None:
    # a port nothing listens on, and one that accepts and hangs up without answering
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    rude = socket.socket()
    rude.bind(("127.0.0.1", 0))
    rude.listen()

    def hang_up() -> None:
        connection, _ = rude.accept()
        connection.recv(65536)
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    refused = _pending_delivery(WebhookFactory(url=f"http://127.0.0.1:{closed_port}/h"))
    deliver_webhook(refused.pk)
    dropped = _pending_delivery(WebhookFactory(url=f"http://127.0.0.1:{rude.getsockname()[1]}/h"))
    deliver_webhook(dropped.pk)
    rude.close()

    refused.refresh_from_db()
    dropped.refresh_from_db()
    assert refused.error == dropped.error == webhooks.NETWORK_ERROR
    assert refused.response_code is dropped.response_code is None


# -- the Django admin -----------------------------------------------------------------


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", superuser=True))
    return client


def test_the_admin_never_shows_the_secret(staff: Client) -> None:
    hook = WebhookFactory(url="https://example.com/h", secret="s3cret-never-to-be-shown")

    change = staff.get(reverse("admin:annotation_webhook_change", args=[hook.pk]))
    listing = staff.get(reverse("admin:annotation_webhook_changelist"))

    assert change.status_code == listing.status_code == 200
    assert "s3cret-never-to-be-shown" not in change.content.decode()
    assert "s3cret-never-to-be-shown" not in listing.content.decode()


@pytest.mark.parametrize(
    ("url", "secret", "field"),
    [
        ("https://example.com/h", "x", "new_secret"),
        ("https://example.com/h", "", "new_secret"),
        ("ftp://example.com/h", "a-long-enough-secret", "url"),
        ("http://127.0.0.1:6379/", "a-long-enough-secret", "url"),
    ],
)
def test_the_admin_validates_a_new_webhook_as_the_api_does(
    staff: Client, url: str, secret: str, field: str
) -> None:
    response = staff.post(
        reverse("admin:annotation_webhook_add"), {"url": url, "active": "on", "new_secret": secret}
    )

    assert response.status_code == 200  # the form again, with the error
    assert field in response.context["adminform"].form.errors
    assert not Webhook.objects.exists()


def test_the_admin_sets_and_replaces_the_secret_without_showing_it(staff: Client) -> None:
    add = reverse("admin:annotation_webhook_add")
    staff.post(
        add, {"url": "https://example.com/h", "active": "on", "new_secret": "first-secret-16ch"}
    )
    hook = Webhook.objects.get()
    change = reverse("admin:annotation_webhook_change", args=[hook.pk])

    # an empty secret keeps the current one; a new URL is a new version
    staff.post(change, {"url": "https://example.org/h", "active": "on", "new_secret": ""})
    hook.refresh_from_db()
    assert (hook.secret, hook.version) == ("first-secret-16ch", 2)

    staff.post(
        change, {"url": "https://example.org/h", "active": "on", "new_secret": "second-secret-16c"}
    )
    hook.refresh_from_db()
    assert hook.secret == "second-secret-16c"


def test_a_review_change_reaches_a_registered_public_hook_through_the_outbox(
    world: World,
    integrations: APIClient,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the delivery and its outbox message commit with the review
    integrations.post(HOOKS, {"url": "https://example.com/h"}, format="json")
    sent: list[int] = []
    monkeypatch.setattr(webhooks, "deliver", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])

    delivery = WebhookDelivery.objects.get()
    message = OutboxMessage.objects.get(task_name="annotation.tasks.deliver_webhook")
    assert sent == [delivery.pk]
    assert message.args == [delivery.pk]
    assert message.status == OutboxMessage.Status.DISPATCHED
    assert delivery.url == "https://example.com/h"


def test_the_refusal_is_translated(integrations: APIClient) -> None:
    # (the block restores the language the request switches this thread to)
    with translation.override("en"):
        response = integrations.post(
            HOOKS,
            {"url": "http://127.0.0.1:6379/"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )

    assert response.status_code == 400
    assert "Webhook 不能指向内部地址" in response.json()["url"][0]

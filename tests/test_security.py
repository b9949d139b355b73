"""Project-wide security properties: CSRF on every POST, uploads that are only
ever read as data, and secrets that never reach the logs."""

import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.test import APIClient

from annotation.models import ImportBatch, Product, WebhookDelivery
from annotation.services import webhooks
from tests.factories import ProductFactory

_CONVERTER_RE = re.compile(r"<(?:\w+:)?\w+>")


def _routes(patterns: list, prefix: str = "") -> Iterator[str]:
    """Every concrete path the URLconf routes, with 1 for each parameter.
    Regular-expression patterns (the admin's app index and catch-all) are the
    admin's own and left out."""
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + _CONVERTER_RE.sub("1", route)


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


@pytest.fixture
def csrf_client(admin_user: User) -> Client:
    """A signed-in superuser whose browser holds a valid CSRF cookie, as a
    victim's browser would when another site makes it post here."""
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get("/").status_code == 200
    assert "csrftoken" in client.cookies
    return client


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused_everywhere(csrf_client: Client) -> None:
    data = {"name": "x", "mode": "head", "product": "1"}
    answered = {}
    for path in ROUTES:
        if path.startswith("/api/"):
            # The API reads JSON only (a form post is refused as 415 before anything
            # else); with a session, DRF's own CSRF check must still refuse it.
            response = csrf_client.post(path, data, content_type="application/json")
        else:
            response = csrf_client.post(path, data)
        answered[path] = response.status_code

    assert {path: code for path, code in answered.items() if code != 403} == {}
    assert len(answered) > 100


@pytest.mark.django_db
def test_the_same_post_with_the_token_gets_through(csrf_client: Client) -> None:
    # The control for the test above: the 403s come from the missing token.
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post(
        "/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302


def test_every_form_view_is_among_the_routes_checked() -> None:
    for path in ("/review/submit/", "/products/bulk/", "/taxonomy/tags/1/merge/", "/import/"):
        assert path in ROUTES
    assert "/api/v1/tokens/" in ROUTES


# -- uploads ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["page.html", "image.svg", "script.py", "tool.exe", "catalog.csv.php", "archive.zip"]
)
def test_an_upload_that_is_not_a_catalogue_file_is_refused(admin_client: Client, name: str) -> None:
    upload = SimpleUploadedFile(name, b"id,title\n1,<script>alert(1)</script>\n")

    response = admin_client.post("/import/", {"file": upload})

    assert response.status_code == 400
    assert ImportBatch.objects.count() == 0
    assert Product.objects.count() == 0


@pytest.mark.django_db
def test_an_imported_upload_is_read_as_data_and_not_kept(
    admin_client: Client, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    media, uploads = Path(settings.MEDIA_ROOT), tmp_path / "uploads"
    before = sorted(media.rglob("*")) if media.exists() else []
    upload = SimpleUploadedFile("catalog.csv", b"id,title\nS1,{% debug %} <b>Mug</b>\n")

    with (
        override_settings(TAGGER_UPLOAD_DIR=uploads),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client.post("/import/", {"file": upload})

    assert response.status_code == 302
    assert Product.objects.get().title == "{% debug %} Mug"
    after = sorted(media.rglob("*")) if media.exists() else []
    assert after == before
    # The stored upload is deleted once its import has finished.
    assert ImportBatch.objects.get().stored_file == ""
    assert list(uploads.iterdir()) == []


# -- secrets in logs ------------------------------------------------------------------------


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _assert_not_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
    assert settings.SECRET_KEY not in logged


@pytest.mark.django_db
def test_a_new_token_key_is_never_logged(
    admin_user: User, all_logs: pytest.LogCaptureFixture
) -> None:
    client = APIClient()
    client.force_authenticate(admin_user)

    response = client.post("/api/v1/tokens/", {"name": "shop", "scope": "export"}, format="json")
    key = response.json()["key"]
    used = APIClient().get("/api/v1/export/", HTTP_AUTHORIZATION=f"Token {key}")
    refused = APIClient().get("/api/v1/export/", HTTP_AUTHORIZATION=f"Token {key}x")

    assert response.status_code == 201
    assert (used.status_code, refused.status_code) == (200, 401)
    _assert_not_logged(all_logs, key)


@pytest.mark.django_db
def test_passwords_are_never_logged(merchandiser: User, all_logs: pytest.LogCaptureFixture) -> None:
    cache.clear()
    wrong = "wrong-Password-7781"
    for _ in range(6):  # up to and past the lockout, which logs a warning
        Client().post("/login/", {"username": "mia", "password": wrong})
    cache.clear()
    Client().post("/login/", {"username": "mia", "password": "pw-for-tests-1"})

    assert "login throttled" in all_logs.text
    _assert_not_logged(all_logs, wrong, "pw-for-tests-1")


class _FailingEndpoint(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FailingEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.mark.django_db
@override_settings(TAGGER_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])  # the local endpoint
def test_a_webhook_secret_is_never_logged(
    failing_endpoint: str,
    all_logs: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: object,
) -> None:
    secret = "whsec-do-not-log-8f2b1c"
    webhooks.create_webhook(url=failing_endpoint, created_by=None, secret=secret)
    product = ProductFactory(external_id="w1", title="Red mug")
    with django_capture_on_commit_callbacks(execute=False):  # type: ignore[operator]
        webhooks.notify_approval_changes([product.pk])
    delivery = WebhookDelivery.objects.get()

    webhooks.deliver(delivery.pk)

    delivery.refresh_from_db()
    assert delivery.response_code == 500
    assert "webhook delivery" in all_logs.text
    _assert_not_logged(all_logs, secret)

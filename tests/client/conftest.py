"""The Python client (clients/python) against a live test server.

`make venv` installs the client package; a checkout without it still finds the
package at its path."""

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotation import roles
from annotation.models import ApiToken
from annotation.services.tokens import create_token
from tests.api.conftest import world  # noqa: F401  # the API tests' catalogue, reused

try:
    import tagger_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

from tagger_client import Client


@pytest.fixture
def admin_client(live_server: object, make_user: Callable[..., User]) -> Client:
    admin = make_user("ada-client", roles.ADMIN)
    _, key = create_token(user=admin, name="client", scope=ApiToken.Scope.ADMIN, created_by=None)
    return Client(live_server.url, key)  # type: ignore[attr-defined]


@pytest.fixture
def export_client(live_server: object, make_user: Callable[..., User]) -> Client:
    bot = make_user("sync-bot", roles.API_CLIENT)
    _, key = create_token(user=bot, name="sync", scope=ApiToken.Scope.EXPORT, created_by=None)
    return Client(live_server.url, key)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_scoring(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The live server commits, so changed products would be scored at once (Celery
    runs eagerly in tests) by the test catalogue's active version, which has no
    model files: record the request instead, as a broker would hold it."""
    queued: list[int] = []
    monkeypatch.setattr(
        "training.jobs.score_catalog", lambda version_id, **_: queued.append(version_id)
    )
    return queued

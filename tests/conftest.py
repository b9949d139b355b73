from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotation import roles
from tests.factories import PASSWORD, UserFactory

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def shared_data_file(name: str) -> Path:
    """A file from ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found: put the shared data beside the project to run this test")
    return path


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, role: str | None = None, password: str = PASSWORD) -> User:
        return UserFactory(username=username, role=role, password=password)

    return make


@pytest.fixture
def merchandiser(make_user: Callable[..., User]) -> User:
    return make_user("mia", roles.MERCHANDISER)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return UserFactory(username="ada", role=roles.ADMIN, is_staff=True)


@pytest.fixture
def api_client_user(make_user: Callable[..., User]) -> User:
    return make_user("bot", roles.API_CLIENT)


# Public documentation addresses for the names tests give webhooks; every other
# name goes to the real resolver (localhost resolves; nothing needs the internet).
TEST_PUBLIC_ADDRESS = "93.184.215.14"
TEST_PUBLIC_SUFFIXES = ("example.com", "example.org", "example.net")


@pytest.fixture(autouse=True)
def _hermetic_webhook_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook targets are resolved before registration and delivery; the
    example domains resolve to a public address without a network."""
    import socket

    from annotation.services import webhook_targets

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list:
        name = str(host).lower().rstrip(".")
        if any(name == s or name.endswith("." + s) for s in TEST_PUBLIC_SUFFIXES):
            port_number = int(port) if isinstance(port, int | str) else 0
            return [
                (
                    socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (TEST_PUBLIC_ADDRESS, port_number),
                )
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(webhook_targets, "_getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _fresh_process_copies() -> None:
    """Each test starts without process copies (the taxonomy, the active version,
    the project settings): the database a previous test filled was rolled back
    under them (no signal tells)."""
    from annotation.services import process_copy

    process_copy.forget_all()


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A request in Chinese leaves Chinese active in the thread (LocaleMiddleware
    activates a language per request and nothing deactivates it): each test
    starts, and leaves, with the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()

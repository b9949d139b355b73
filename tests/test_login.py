import os
import threading
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import translation


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def test_it_logs_a_reviewer_in(merchandiser) -> None:
    # given
    client = Client()
    # when
    response = client.post(reverse("login"), {"username": "mia", "password": "pw-for-tests-1"})
    # then
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(merchandiser.pk)


def test_it_locks_out_after_repeated_failures(merchandiser) -> None:
    client = Client()
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "mia", "password": "wrong"})
        assert response.status_code == 200
    # when: even the right password is refused while locked out
    response = client.post(reverse("login"), {"username": "mia", "password": "pw-for-tests-1"})
    # then
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_a_success_clears_earlier_failures(merchandiser) -> None:
    client = Client()
    for _ in range(3):
        client.post(reverse("login"), {"username": "mia", "password": "wrong"})
    assert (
        client.post(reverse("login"), {"username": "mia", "password": "pw-for-tests-1"}).status_code
        == 302
    )
    client.logout()
    for _ in range(3):
        client.post(reverse("login"), {"username": "mia", "password": "wrong"})
    # then: 3 + 3 failures are not counted together
    response = client.post(reverse("login"), {"username": "mia", "password": "pw-for-tests-1"})
    assert response.status_code == 302


# -- per account, per client, behind proxies, in parallel -------------------------------

LOGIN_URL = "/login/"


def _fail(client: Client, username: str, **extra: str) -> int:
    return client.post(LOGIN_URL, {"username": username, "password": "wrong"}, **extra).status_code


def test_a_locked_account_never_locks_another_account_from_the_same_client(
    merchandiser, make_user
) -> None:
    # given: someone guessed at mia's password from this client until locked out
    make_user("noor")
    client = Client()
    for _ in range(5):
        assert _fail(client, "mia") == 200
    assert _fail(client, "mia") == 429
    # when: a colleague at the same address logs in to her own account
    response = client.post(LOGIN_URL, {"username": "noor", "password": "pw-for-tests-1"})
    # then
    assert response.status_code == 302


def test_a_client_spraying_many_accounts_is_locked_out_by_its_address(
    merchandiser, settings
) -> None:
    # given a per-address limit well above the per-account one
    settings.TAGGER_LOGIN_ADDRESS_MAX_FAILURES = 12
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(12):
        assert _fail(sprayer, f"guess-{n}") == 200
    # when it tries one more account, even with the right password
    response = sprayer.post(LOGIN_URL, {"username": "mia", "password": "pw-for-tests-1"})
    # then it is refused, with a message about the network, and another client is not
    assert response.status_code == 429
    assert "Too many failed attempts from your network" in response.content.decode()
    assert response["Retry-After"] == str(settings.TAGGER_LOGIN_LOCKOUT_SECONDS)
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert other.post(LOGIN_URL, {"username": "mia", "password": "pw-for-tests-1"}).status_code == (
        302
    )


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(
    merchandiser, settings
) -> None:
    # given one TLS proxy in front: every request comes from its address
    settings.TAGGER_TRUSTED_PROXIES = 1
    settings.TAGGER_LOGIN_ADDRESS_MAX_FAILURES = 6
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    # when one client sprays user names (and forges an entry of its own on the left)
    for n in range(6):
        assert _fail(proxy, f"guess-{n}", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9") == 200
    assert _fail(proxy, "guess-x", HTTP_X_FORWARDED_FOR="192.0.2.77, 203.0.113.9") == 429
    # then another client behind the same proxy still logs in
    response = proxy.post(
        LOGIN_URL,
        {"username": "mia", "password": "pw-for-tests-1"},
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert response.status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_for_header_changes_nothing(
    merchandiser, settings
) -> None:
    settings.TAGGER_LOGIN_ADDRESS_MAX_FAILURES = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(3):
        _fail(client, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert _fail(client, "guess-x", HTTP_X_FORWARDED_FOR="192.0.2.99") == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.2"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "198.51.100.7, 192.0.2.1", "192.0.2.1"),
        (2, "198.51.100.7, 192.0.2.1, 10.0.0.1", "192.0.2.1"),
        (2, "192.0.2.1", "10.0.0.2"),  # shorter than the chain: not through the proxies
        (1, "not-an-address", "10.0.0.2"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_client_address_is_read_through_the_configured_proxies(
    settings, proxies: int, forwarded: str, expected: str
) -> None:
    from django.test import RequestFactory

    from tagger.login import client_address

    settings.TAGGER_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected


def test_the_admin_login_is_throttled_too(admin_user) -> None:
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "ada", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "ada", "password": "pw-for-tests-1"})

    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_network_lockout_message_is_translated(db: None, settings) -> None:
    settings.TAGGER_LOGIN_ADDRESS_MAX_FAILURES = 2
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    # (the block restores the language the requests switch this thread to)
    with translation.override("en"):
        for n in range(2):
            _fail(client, f"guess-{n}")
        response = client.post(LOGIN_URL, {"username": "guess-x", "password": "wrong"})

    assert response.status_code == 429
    assert "来自您所在网络的失败次数过多" in response.content.decode()


class CountingBackend(ModelBackend):
    """The password-checking backend, counting how often it is asked."""

    calls = 0
    lock = threading.Lock()

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kw: Any):
        with CountingBackend.lock:
            CountingBackend.calls += 1
        # Stay inside the check a little, as a real password hash does, so the
        # attempts overlap; nothing here measures time.
        time.sleep(0.05)


def _redis_cache_url() -> str | None:
    url = os.environ.get("TAGGER_TEST_REDIS_URL")
    if not url:
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_parallel_wrong_attempts_get_no_more_password_checks_than_the_limit(
    settings, backend: str
) -> None:
    # given a shared cache of the kind production uses, and a counting password check
    if backend == "redis":
        url = _redis_cache_url()
        if url is None:
            pytest.skip("set TAGGER_TEST_REDIS_URL to a reachable Redis to run this one")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"login-test-{uuid.uuid4().hex}",
            }
        }
    settings.AUTHENTICATION_BACKENDS = [
        *(b for b in settings.AUTHENTICATION_BACKENDS if not b.endswith(".ModelBackend")),
        f"{__name__}.CountingBackend",
    ]
    CountingBackend.calls = 0
    start = threading.Barrier(24)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            client = Client(REMOTE_ADDR="203.0.113.9")
            start.wait()
            statuses.append(_fail(client, "mia"))
        finally:
            connections.close_all()

    # when 24 wrong attempts for one account arrive at once
    threads = [threading.Thread(target=attempt) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then no more than the limit reached the password check; the rest were refused
    assert CountingBackend.calls <= 5
    assert sorted(statuses) == [200] * CountingBackend.calls + [429] * (24 - CountingBackend.calls)


def test_the_deploy_check_asks_for_a_shared_cache(settings) -> None:
    from tagger.checks import check_shared_cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    [warning] = check_shared_cache(None)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/3",
        }
    }

    assert warning.id == "tagger.W001"
    assert check_shared_cache(None) == []

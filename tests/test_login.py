import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse


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

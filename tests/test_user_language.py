"""The interface language is kept per person: chosen once with the switcher,
it comes back at every later login, in any browser."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from annotation.models import UserPreference
from tests.annotation.ui_catalog import compile_messages
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup() -> None:
    cache.clear()  # the login throttle
    compile_messages()


def log_in(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def choose(client: Client, language: str) -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 302


def test_the_choice_comes_back_at_the_next_login_in_another_browser(merchandiser: User) -> None:
    # given: mia chooses Chinese in one browser, then logs out
    first = Client()
    log_in(first, merchandiser)
    choose(first, "zh-hans")
    first.post(reverse("logout"))
    # when: she logs in from a browser that has never seen the switcher
    second = Client()
    log_in(second, merchandiser)
    response = second.get(reverse("training:dashboard"))
    # then
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "仪表盘" in html
    assert second.cookies["django_language"].value == "zh-hans"
    assert UserPreference.objects.get(user=merchandiser).language == "zh-hans"


def test_switching_back_to_english_is_kept_too(merchandiser: User) -> None:
    client = Client()
    log_in(client, merchandiser)
    choose(client, "zh-hans")
    choose(client, "en")
    client.post(reverse("logout"))

    other = Client()
    other.cookies["django_language"] = "zh-hans"  # the browser says Chinese
    log_in(other, merchandiser)
    html = other.get(reverse("training:dashboard")).content.decode()

    assert '<html lang="en">' in html
    assert UserPreference.objects.get(user=merchandiser).language == "en"


def test_someone_who_never_chose_gets_the_browsers_language(merchandiser: User) -> None:
    client = Client()
    client.cookies["django_language"] = "zh-hans"
    log_in(client, merchandiser)

    html = client.get(reverse("training:dashboard")).content.decode()

    assert '<html lang="zh-hans">' in html
    assert not UserPreference.objects.exists()


def test_a_choice_made_before_logging_in_is_not_stored_for_anyone() -> None:
    client = Client()

    choose(client, "zh-hans")

    assert client.cookies["django_language"].value == "zh-hans"
    assert not UserPreference.objects.exists()


def test_an_unknown_language_is_not_remembered(merchandiser: User) -> None:
    client = Client()
    log_in(client, merchandiser)

    client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    assert not UserPreference.objects.exists()

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from annotation import roles

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-42"


def create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


def role_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_it_creates_a_merchandiser_who_can_log_in() -> None:
    output = create("mia", "--role", "merchandiser", "--password", PASSWORD, "--email", "m@x.io")

    user = User.objects.get(username="mia")
    assert "created mia with role merchandiser" in output
    assert role_names(user) == {roles.MERCHANDISER}
    assert (user.email, user.is_staff) == ("m@x.io", False)
    assert user.check_password(PASSWORD)


def test_an_admin_is_staff_and_can_use_the_django_admin(client: Client) -> None:
    create("ada", "--role", "admin", "--password", PASSWORD)

    user = User.objects.get(username="ada")
    assert user.is_staff
    assert not user.is_superuser
    assert client.login(username="ada", password=PASSWORD)
    assert client.get(reverse("admin:annotation_tag_changelist")).status_code == 200


def test_it_reads_the_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))

    create("bot", "--role", "api_client", "--password-stdin")

    assert User.objects.get(username="bot").check_password(PASSWORD)


def test_without_a_password_the_account_cannot_log_in() -> None:
    output = create("bot", "--role", "api_client")

    assert not User.objects.get(username="bot").has_usable_password()
    assert "no password set" in output


def test_running_it_again_updates_role_and_password_of_the_same_user() -> None:
    create("ada", "--role", "admin", "--password", PASSWORD)

    output = create("ada", "--role", "merchandiser", "--password", PASSWORD + "-new")

    user = User.objects.get(username="ada")
    assert "updated ada with role merchandiser" in output
    assert User.objects.count() == 1
    assert role_names(user) == {roles.MERCHANDISER}
    assert not user.is_staff
    assert user.check_password(PASSWORD + "-new")


def test_it_keeps_the_password_when_none_is_given_on_update() -> None:
    create("mia", "--role", "merchandiser", "--password", PASSWORD)

    create("mia", "--role", "admin")

    assert User.objects.get(username="mia").check_password(PASSWORD)


def test_it_refuses_a_weak_password() -> None:
    with pytest.raises(CommandError, match=r"too common|too short"):
        create("mia", "--role", "merchandiser", "--password", "password")

    assert not User.objects.exists()


def test_it_refuses_an_unknown_role() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        create("mia", "--role", "boss")

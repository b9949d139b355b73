"""Fixtures shared by the annotation tests."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.annotation.ui_catalog import compile_messages


@pytest.fixture(scope="module")
def compiled_messages() -> None:
    """The .mo files, built once for a module that reads Chinese pages
    (`pytest.mark.usefixtures("compiled_messages")`)."""
    compile_messages()


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client

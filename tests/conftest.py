from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from annotation import roles

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def shared_data_file(name: str) -> Path:
    """A file from ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not found: put the shared data beside the project to run this test")
    return path


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, role: str | None = None, password: str = "pw-for-tests-1") -> User:
        user = User.objects.create_user(username=username, password=password)
        if role:
            user.groups.add(roles.ensure_role_groups()[role])
        return user

    return make


@pytest.fixture
def merchandiser(make_user: Callable[..., User]) -> User:
    return make_user("mia", roles.MERCHANDISER)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    user = make_user("ada", roles.ADMIN)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def api_client_user(make_user: Callable[..., User]) -> User:
    return make_user("bot", roles.API_CLIENT)

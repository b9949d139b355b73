"""Roles do not leak: an API client who logs in gets no HTML page but the one
that says what their tokens can do (403 elsewhere, the dashboard included), and
a token never acts beyond its owner's role (an export token of a merchandiser
exports nothing, since the merchandiser's session may not)."""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import ApiToken
from annotation.services.tokens import create_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Pages any signed-in user may open: logging out, switching language, the
# API's own documentation and the page that explains the user's tokens.
OPEN_TO_ALL = {"/logout/", "/i18n/setlang/", "/api/docs/", "/api/schema/", "/account/api/"}


def _pages(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _pages(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


PAGES = sorted(
    path
    for path in set(_pages(get_resolver().url_patterns))
    if not path.startswith(("/api/v1/", "/admin/", "/login/")) and path not in OPEN_TO_ALL
)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user: User, scope: str) -> APIClient:
    _, key = create_token(user=user, name=f"{scope} token", scope=scope, created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


# -- pages ------------------------------------------------------------------------------------


def test_every_page_is_checked() -> None:
    assert "/" in PAGES
    assert "/review/" in PAGES
    assert "/dashboard/training/" in PAGES
    assert len(PAGES) > 20


def test_an_api_client_gets_a_403_on_every_page() -> None:
    client = signed_in(UserFactory(role=roles.API_CLIENT))

    answered = {}
    for path in PAGES:
        response = client.get(path)
        if response.status_code == 405:  # a form's target: post to it
            response = client.post(path, {"product": "1", "name": "x"})
        answered[path] = response.status_code

    assert {path: code for path, code in answered.items() if code != 403} == {}


def test_the_dashboard_refuses_an_api_client_and_points_to_their_page() -> None:
    client = signed_in(UserFactory(role=roles.API_CLIENT))

    response = client.get("/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "Your account is for the API" in html
    assert 'href="/account/api/"' in html
    assert "Dashboard" not in html  # the navigation offers no page they cannot open


def test_a_user_without_a_role_sees_no_dashboard() -> None:
    response = signed_in(UserFactory()).get("/")

    assert response.status_code == 403
    assert "Your role may not open this page." in response.content.decode()


@pytest.mark.parametrize("role", [roles.MERCHANDISER, roles.ADMIN])
def test_the_working_roles_still_see_the_dashboard(role: str) -> None:
    assert signed_in(UserFactory(role=role)).get("/").status_code == 200


def test_the_api_access_page_says_what_each_token_can_do() -> None:
    bot = UserFactory(username="bot", role=roles.API_CLIENT)
    create_token(user=bot, name="warehouse sync", scope=ApiToken.Scope.EXPORT, created_by=None)
    create_token(user=bot, name="left over", scope=ApiToken.Scope.ADMIN, created_by=None)
    revoked, _ = create_token(user=bot, name="old one", scope="export", created_by=None)
    revoked.revoked_at = revoked.created_at
    revoked.save()
    other = UserFactory(role=roles.API_CLIENT)
    create_token(user=other, name="not yours", scope=ApiToken.Scope.EXPORT, created_by=None)

    response = signed_in(bot).get("/account/api/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "warehouse sync" in html
    assert "GET /api/v1/export/" in html
    assert "left over" in html
    assert "your role does not allow this scope" in html
    assert "old one" not in html
    assert "not yours" not in html
    assert "tgr_" in html  # the prefix only, never a key
    assert all(token.key_hash not in html for token in ApiToken.objects.all()), "no key hash shown"


# -- tokens -----------------------------------------------------------------------------------


def test_a_merchandiser_export_token_cannot_export() -> None:
    mia = UserFactory(role=roles.MERCHANDISER)
    session = APIClient()
    session.force_login(mia)
    assert session.get("/api/v1/export/").status_code == 403  # the role may not

    response = bearer(mia, ApiToken.Scope.EXPORT).get("/api/v1/export/")

    assert response.status_code == 403
    assert "owner is neither" in response.json()["detail"]


@pytest.mark.parametrize("role", [roles.API_CLIENT, roles.ADMIN])
def test_an_export_token_of_a_role_that_exports_still_exports(role: str) -> None:
    response = bearer(UserFactory(role=role), ApiToken.Scope.EXPORT).get("/api/v1/export/")

    assert response.status_code == 200


def test_a_token_loses_what_its_owner_loses() -> None:
    ada = UserFactory(role=roles.ADMIN)
    admin_token = bearer(ada, ApiToken.Scope.ADMIN)
    export_token = bearer(ada, ApiToken.Scope.EXPORT)
    assert admin_token.get("/api/v1/tokens/").status_code == 200

    ada.groups.remove(Group.objects.get(name=roles.ADMIN))

    assert admin_token.get("/api/v1/tokens/").status_code == 403
    assert admin_token.get("/api/v1/export/").status_code == 403
    assert admin_token.get("/api/v1/products/").status_code == 403
    assert export_token.get("/api/v1/export/").status_code == 403


def test_an_export_token_is_not_issued_to_a_role_that_cannot_export() -> None:
    UserFactory(username="mia", role=roles.MERCHANDISER)
    admin = APIClient()
    admin.force_login(UserFactory(role=roles.ADMIN))

    response = admin.post(
        "/api/v1/tokens/", {"name": "x", "user": "mia", "scope": "export"}, format="json"
    )

    assert response.status_code == 400
    assert "mia is not an API client or admin" in response.json()["scope"][0]
    assert not ApiToken.objects.exists()

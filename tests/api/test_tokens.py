import hashlib
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from annotation import roles
from annotation.api.permissions import TokenRateThrottle
from annotation.models import ApiToken
from tests.api.conftest import World

pytestmark = pytest.mark.django_db
EXPORT = reverse("api:export")


def _bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_creating_a_token_shows_its_key_once(
    integrations: APIClient, make_user: Callable[..., User]
) -> None:
    make_user("bot", roles.API_CLIENT)

    created = integrations.post(
        reverse("api:tokens"), {"name": "warehouse sync", "user": "bot"}, format="json"
    )

    body = created.json()
    assert created.status_code == 201
    assert body["key"].startswith("tgr_")
    assert body["scope"] == "export"
    assert body["user"] == "bot"
    shown = integrations.get(reverse("api:token", args=[body["id"]])).json()
    listed = integrations.get(reverse("api:tokens")).json()["results"]
    assert "key" not in shown
    assert all("key" not in token for token in listed)


def test_only_a_hash_of_the_key_is_stored(integrations: APIClient) -> None:
    key = integrations.post(reverse("api:tokens"), {"name": "mine"}, format="json").json()["key"]

    token = ApiToken.objects.get()
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert not any(key in value for value in stored)
    assert _bearer(key).get(EXPORT).status_code == 200


def test_an_admin_scope_needs_an_admin_user(
    integrations: APIClient, make_user: Callable[..., User]
) -> None:
    make_user("bot", roles.API_CLIENT)

    response = integrations.post(
        reverse("api:tokens"), {"name": "x", "user": "bot", "scope": "admin"}, format="json"
    )

    assert response.status_code == 400
    assert "not an admin" in response.json()["scope"][0]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("export", "mia-x is not an API client or admin; a token with the export scope needs one"),
        ("admin", "mia-x is not an admin; a token with the admin scope needs one"),
    ],
)
def test_a_scope_beyond_the_users_role_is_refused_in_plain_english(
    integrations: APIClient, make_user: Callable[..., User], scope: str, message: str
) -> None:
    make_user("mia-x", roles.MERCHANDISER)

    response = integrations.post(
        reverse("api:tokens"), {"name": "x", "user": "mia-x", "scope": scope}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"scope": [message]}


@pytest.mark.parametrize("how", ["delete", "revoke"])
def test_a_revoked_token_is_refused(
    integrations: APIClient, export_token: tuple[ApiToken, str], how: str
) -> None:
    token, key = export_token
    assert _bearer(key).get(EXPORT).status_code == 200

    if how == "delete":
        response = integrations.delete(reverse("api:token", args=[token.pk]))
    else:
        response = integrations.post(reverse("api:token-revoke", args=[token.pk]))

    refused = _bearer(key).get(EXPORT)
    assert response.status_code in (200, 204)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or revoked token."}
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_unknown_key_is_refused() -> None:
    response = _bearer("tgr_not-a-real-key").get(EXPORT)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("products", []),
        ("products-bulk", []),
        ("product-review", ["sku-1"]),
        ("review-next", []),
        ("tags", []),
        ("training-runs", []),
        ("tokens", []),
        ("webhooks", []),
        ("export", []),
    ],
)
def test_an_export_token_cannot_post_anything(
    world: World, export_token: tuple[ApiToken, str], name: str, args: list[str]
) -> None:
    response = _bearer(export_token[1]).post(reverse(f"api:{name}", args=args), {}, format="json")

    assert response.status_code == 403


def test_a_token_over_its_rate_gets_429(
    export_token: tuple[ApiToken, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    client = _bearer(export_token[1])

    codes = [client.get(EXPORT).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    assert "Retry-After" in client.get(EXPORT).headers


def test_sessions_are_not_throttled_by_the_token_rate(
    make_client: Callable[[str], tuple[APIClient, User | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    client, _ = make_client("api_client")

    codes = {client.get(EXPORT).status_code for _ in range(5)}

    assert codes == {200}

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import ProductTag, QueueEntry, ReviewEvent
from tests.api.conftest import World

pytestmark = pytest.mark.django_db
NEXT = reverse("api:review-next")
UNDO = reverse("api:review-undo")


@pytest.fixture
def reviewer(make_client: Callable[[str], tuple[APIClient, User | None]]) -> APIClient:
    return make_client("merchandiser")[0]


def _submit(client: APIClient, external_id: str, decisions: list[dict]) -> object:
    return client.post(
        reverse("api:product-review", args=[external_id]), {"decisions": decisions}, format="json"
    )


def _states(world: World, external_id: str) -> dict[str, str]:
    return dict(
        ProductTag.objects.filter(product__external_id=external_id).values_list(
            "tag__name", "state"
        )
    )


def test_decisions_by_key_alias_or_id_are_applied(world: World, reviewer: APIClient) -> None:
    response = _submit(
        reviewer,
        "sku-1",
        [
            {"tag": "color:crimson", "approved": False},
            {"tag_id": world.green.pk, "approved": True},
            {"tag": "size:L", "approved": True},
        ],
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["decisions"] == 3
    assert _states(world, "sku-1") == {"red": "rejected", "green": "approved", "L": "approved"}
    assert {(t["key"], t["state"]) for t in body["tags"]} >= {
        ("color:red", "rejected"),
        ("size:L", "approved"),
    }


def test_an_unknown_tag_is_a_400_naming_the_decision(world: World, reviewer: APIClient) -> None:
    response = _submit(reviewer, "sku-1", [{"tag": "color:plaid", "approved": True}])

    assert response.status_code == 400
    assert response.json() == {"decisions": {"0": {"tag": ["unknown tag 'color:plaid'"]}}}


def test_a_decision_needs_exactly_one_tag_reference(world: World, reviewer: APIClient) -> None:
    response = _submit(
        reviewer, "sku-1", [{"tag": "color:red", "tag_id": world.red.pk, "approved": True}]
    )

    assert response.status_code == 400
    assert not ReviewEvent.objects.exists()


def test_the_services_refusal_is_a_400_with_its_reason(world: World, reviewer: APIClient) -> None:
    response = _submit(
        reviewer,
        "sku-1",
        [{"tag": "size:S", "approved": True}, {"tag": "size:L", "approved": True}],
    )

    assert response.status_code == 400
    assert "allows one tag per product" in response.json()["detail"]
    assert _states(world, "sku-1") == {"red": "approved"}


def test_next_claims_a_product_with_its_tags_and_keeps_it(
    world: World, reviewer: APIClient
) -> None:
    first = reviewer.post(NEXT).json()
    again = reviewer.post(NEXT).json()

    assert first["product"]["id"] == again["product"]["id"]
    assert first["model_version"] == world.version.pk
    assert first["lease_expires_at"]
    entry = QueueEntry.objects.get(product__external_id=first["product"]["id"])
    assert entry.leased_by is not None


def test_next_is_204_when_the_queue_is_empty(world: World, reviewer: APIClient) -> None:
    QueueEntry.objects.all().delete()

    response = reviewer.post(NEXT)

    assert response.status_code == 204


def test_skip_releases_the_product_and_next_serves_another(
    world: World, reviewer: APIClient
) -> None:
    first = reviewer.post(NEXT).json()["product"]["id"]

    skipped = reviewer.post(reverse("api:review-skip", args=[first]))
    second = reviewer.post(NEXT).json()["product"]["id"]

    assert skipped.status_code == 204
    assert second != first
    assert ReviewEvent.objects.filter(action=ReviewEvent.Action.SKIP).count() == 1


def test_undo_reverses_the_last_submission(world: World, reviewer: APIClient) -> None:
    _submit(reviewer, "sku-2", [{"tag": "color:blue", "approved": False}])

    response = reviewer.post(UNDO)

    assert response.status_code == 200
    assert response.json()["product"] == "sku-2"
    assert _states(world, "sku-2") == {"blue": "approved"}


def test_undo_with_nothing_to_undo_is_a_409(world: World, reviewer: APIClient) -> None:
    response = reviewer.post(UNDO)

    assert response.status_code == 409
    assert "Nothing to undo" in response.json()["detail"]

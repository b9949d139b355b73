"""POST /api/v1/tags/<id>/unmerge/: a merge undone through the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import ProductTag, ReviewEvent
from tests.api.conftest import World, approve

pytestmark = pytest.mark.django_db


def test_an_unmerge_moves_the_decisions_back_and_reports_them(
    world: World, integrations: APIClient
) -> None:
    teal = world.tag("teal")
    approve(world.products[2], teal)
    approve(world.products[1], teal)
    before = set(ProductTag.objects.values_list("product_id", "tag_id", "state", "source"))
    merged = integrations.post(
        reverse("api:tag-merge", args=[teal.pk]), {"into": world.blue.pk}, format="json"
    )
    assert merged.status_code == 200

    response = integrations.post(reverse("api:tag-unmerge", args=[teal.pk]), format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert body["tag"]["status"] == "active"
    assert body["tag"]["merged_into"] is None
    assert body["into"]["key"] == "color:blue"
    assert "teal" not in body["into"]["aliases"]
    assert body["complete"] is True
    assert (body["moved_back"], body["recreated"]) == (1, 1)
    assert set(ProductTag.objects.values_list("product_id", "tag_id", "state", "source")) == before
    assert ReviewEvent.objects.filter(action="unmerge", tag=teal).count() == 2


def test_a_tag_that_is_not_merged_answers_400(world: World, integrations: APIClient) -> None:
    response = integrations.post(reverse("api:tag-unmerge", args=[world.red.pk]), format="json")

    assert response.status_code == 400
    assert "not merged" in response.json()["detail"]

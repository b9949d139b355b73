"""A client that applies exported records keeps an exact copy of the approved
tags, whether it fetches everything or only what changed since its last sync."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import ApiToken
from annotation.services import taxonomy
from annotation.services.review import Decision, bulk_set_tag, submit_review, undo_last_submission
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


class Mirror:
    """What a downstream system keeps: product id -> approved tags."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.tags: dict[str, set[str]] = {}
        self.last_changed_at = ""

    def sync(self, **params: str) -> int:
        cursor, applied = None, 0
        while True:
            query = {"page_size": "2", **params, **({"cursor": cursor} if cursor else {})}
            response = self.client.get(reverse("api:export"), query)
            assert response.status_code == 200, response.content
            body = response.json()
            for record in body["results"]:
                self.tags[record["id"]] = {tag["tag"] for tag in record["tags"]}
                self.last_changed_at = max(self.last_changed_at, record["changed_at"])
                applied += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return applied


def test_an_incremental_sync_equals_a_full_export(
    world: World,
    export_token: tuple[ApiToken, str],
    make_user: Callable[..., User],
) -> None:
    # given: a mirror synced after a first round of reviews (by an admin, who may
    # review a product again once it is done)
    reviewer = make_user("rita", roles.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {export_token[1]}")
    sku1, sku2, sku3 = world.products
    submit_review(reviewer, sku1, [Decision(world.red.pk, True), Decision(world.small.pk, True)])
    submit_review(reviewer, sku2, [Decision(world.green.pk, False)])
    submit_review(reviewer, sku3, [Decision(world.green.pk, True)])
    mirror = Mirror(client)
    assert mirror.sync() == 3

    # when: approvals, a rejection, an undo, a bulk edit and a merge happen
    submit_review(reviewer, sku2, [Decision(world.green.pk, True)])
    submit_review(reviewer, sku1, [Decision(world.small.pk, False)])
    submit_review(reviewer, sku3, [Decision(world.large.pk, True)])
    undo_last_submission(reviewer)
    bulk_set_tag(reviewer, [sku1.pk, sku3.pk], world.blue, True)
    teal = world.tag("teal")
    submit_review(reviewer, sku3, [Decision(teal.pk, True)])
    taxonomy.merge_tags(teal, world.green, user=reviewer)
    applied = mirror.sync(updated_since=mirror.last_changed_at)

    # then: the mirror equals a fresh full export
    fresh = Mirror(client)
    fresh.sync()
    assert applied == 3
    assert mirror.tags == fresh.tags
    assert fresh.tags == {
        "sku-1": {"color:red", "color:blue"},
        "sku-2": {"color:blue", "color:green"},
        "sku-3": {"color:green", "color:blue"},
    }

"""Webhook event types and each hook's event filter: which deliveries a change
creates, and that every payload is what the schema's webhooks section says."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.api.webhook_docs import PAYLOADS
from annotation.models import ProductTag, Tag, TagGroup, Webhook, WebhookDelivery
from annotation.services.importing import import_products
from annotation.services.review import Decision, submit_review
from annotation.services.tag_changes import record_tag_changes
from tests.api.conftest import World
from tests.factories import UserFactory, WebhookFactory
from training.services.versions import promote

pytestmark = pytest.mark.django_db


def _hook(*events: str) -> Webhook:
    return WebhookFactory(events=list(events))


def _sent(hook: Webhook) -> dict[str, list[dict[str, Any]]]:
    """The payloads created for a hook, by event type, each valid for its schema."""
    by_event: dict[str, list[dict[str, Any]]] = {}
    for delivery in WebhookDelivery.objects.filter(webhook=hook).order_by("pk"):
        serializer = PAYLOADS[delivery.event](data=delivery.payload)
        assert serializer.is_valid(), (delivery.event, serializer.errors)
        assert delivery.payload["event"] == delivery.event
        by_event.setdefault(delivery.event, []).append(delivery.payload)
    return by_event


def test_a_hook_hears_only_the_events_it_chose(
    world: World, make_user: Callable[..., User]
) -> None:
    changes = _hook("tags.changed")
    differences = _hook("tags.approved", "tags.removed")
    promotions = _hook("model.promoted")

    submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])

    assert list(_sent(changes)) == ["tags.changed"]
    assert _sent(differences) == {
        "tags.approved": [
            {
                "event": "tags.approved",
                "sent_at": _sent(differences)["tags.approved"][0]["sent_at"],
                "products": [{"id": "sku-3", "tags": ["color:green"]}],
            }
        ]
    }
    assert _sent(promotions) == {}


def test_removed_tags_are_the_difference_since_the_last_notification(
    world: World, make_user: Callable[..., User]
) -> None:
    hook = _hook("tags.approved", "tags.removed")
    rita = make_user("rita")
    submit_review(rita, world.products[0], [Decision(world.blue.pk, True)])

    # A later change of any kind (here a rejection written directly) is compared
    # with what that notification told.
    ProductTag.objects.filter(product=world.products[0], tag=world.red).update(
        state=ProductTag.State.REJECTED
    )
    record_tag_changes([world.products[0].pk])

    sent = _sent(hook)
    # The first notification of sku-1 reports all it had; the second only the loss.
    assert sent["tags.approved"][0]["products"] == [
        {"id": "sku-1", "tags": ["color:blue", "color:red"]}
    ]
    assert len(sent["tags.approved"]) == 1
    assert sent["tags.removed"][0]["products"] == [{"id": "sku-1", "tags": ["color:red"]}]


def test_a_promotion_is_announced_with_the_previous_version(world: World) -> None:
    hook = _hook("model.promoted")
    newer = world.version_with_files()

    promote(newer)

    (payload,) = _sent(hook)["model.promoted"]
    assert payload["model_version"]["id"] == newer.pk
    assert payload["model_version"]["previous_id"] == world.version.pk


def test_a_finished_import_is_announced(world: World) -> None:
    hook = _hook("import.finished")
    rows = b'{"id": "sku-9", "title": "Yellow raincoat"}\n{"id": "sku-10"}\n'

    import_products(io.BytesIO(rows), filename="rain.jsonl", keep_valid=True)

    (payload,) = _sent(hook)["import.finished"]
    assert payload["import"]["status"] == "succeeded"
    assert payload["import"]["rows_created"] == 1
    assert payload["import"]["rows_rejected"] == 1


def test_a_finished_import_carries_what_it_created_as_the_api_answers_it(
    world: World, integrations: APIClient
) -> None:
    hook = _hook("import.finished")
    rows = b'{"id": "sku-9", "title": "Raincoat", "tags": ["color:red", "fabric:Oilskin"]}\n'

    result = import_products(io.BytesIO(rows), filename="rain.jsonl")

    (payload,) = _sent(hook)["import.finished"]
    fabric = TagGroup.objects.get(name="fabric")
    oilskin = Tag.objects.get(group=fabric, name="Oilskin")
    assert payload["import"]["created"] == {
        "facets": {
            "count": 1,
            "first": [{"id": fabric.pk, "name": "fabric"}],
            "irregular": {"count": 0, "first": []},
        },
        "tags": {"count": 1, "first": [{"id": oilskin.pk, "key": "fabric:Oilskin"}]},
    }
    detail = integrations.get(reverse("api:import", args=[result.batch.pk])).json()
    assert payload["import"]["created"] == detail["created"]


def test_a_failed_import_is_announced_with_nothing_created(world: World) -> None:
    hook = _hook("import.finished")
    rows = b'{"id": "sku-9", "title": "Raincoat", "tags": ["fabric:Oilskin"]}\n{"id": "x"}\n'

    import_products(io.BytesIO(rows), filename="rain.jsonl")

    (payload,) = _sent(hook)["import.finished"]
    assert payload["import"]["status"] == "failed"
    assert payload["import"]["created"]["facets"]["count"] == 0
    assert payload["import"]["created"]["tags"] == {"count": 0, "first": []}


def test_an_inactive_hook_hears_nothing(world: World, make_user: Callable[..., User]) -> None:
    hook = WebhookFactory(events=["tags.changed", "tags.approved"], active=False)

    submit_review(make_user("rita"), world.products[2], [Decision(world.green.pk, True)])

    assert _sent(hook) == {}


def test_the_api_registers_and_changes_a_hooks_events(
    integrations: APIClient, settings: Any
) -> None:
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    url = "http://127.0.0.1:9/hook"

    plain = integrations.post(reverse("api:webhooks"), {"url": url}, format="json")
    chosen = integrations.post(
        reverse("api:webhooks"),
        {"url": url, "events": ["tags.removed", "model.promoted"]},
        format="json",
    )
    unknown = integrations.post(
        reverse("api:webhooks"), {"url": url, "events": ["tags.exploded"]}, format="json"
    )
    changed = integrations.patch(
        reverse("api:webhook", args=[chosen.json()["id"]]),
        {"events": ["import.finished"]},
        format="json",
    )

    assert plain.json()["events"] == ["tags.changed"]
    assert chosen.json()["events"] == ["tags.removed", "model.promoted"]
    assert unknown.status_code == 400
    assert "events" in unknown.json()
    assert changed.json()["events"] == ["import.finished"]
    assert Webhook.objects.get(pk=chosen.json()["id"]).events == ["import.finished"]


def test_the_admin_sets_a_hooks_events(settings: Any) -> None:
    settings.TAGGER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    staff = Client()
    staff.force_login(UserFactory(username="root", superuser=True))
    add = reverse("admin:annotation_webhook_add")
    body = {"url": "http://127.0.0.1:9/h", "active": "on", "new_secret": "a-secret-of-16-ch"}

    staff.post(add, {**body, "events": ["tags.removed", "import.finished"]})
    hook = Webhook.objects.get()
    staff.post(reverse("admin:annotation_webhook_change", args=[hook.pk]), body)

    hook.refresh_from_db()
    assert hook.events == ["tags.removed", "import.finished"]

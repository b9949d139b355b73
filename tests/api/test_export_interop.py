"""The export as Label Studio tasks and as a Hugging Face dataset with its card."""

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import ApiToken, ProductTag
from annotation.services.tag_changes import record_tag_changes
from tests.api.conftest import World

pytestmark = pytest.mark.django_db

EXPORT = reverse("api:export")


@pytest.fixture
def exporter(world: World, export_token: tuple[ApiToken, str]) -> APIClient:
    # sku-1: red (approved) and blue (rejected); sku-2: blue; sku-3: nothing approved.
    ProductTag.objects.create(
        product=world.products[0],
        tag=world.blue,
        state=ProductTag.State.REJECTED,
        source=ProductTag.Source.HUMAN,
        decided_at=world.products[0].created_at,
    )
    record_tag_changes(p.pk for p in world.products)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {export_token[1]}")
    return client


def _body(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


def test_label_studio_tasks_carry_the_approved_tags_per_facet(exporter: APIClient) -> None:
    response = exporter.get(EXPORT, {"format": "labelstudio"})

    tasks = json.loads(_body(response))
    assert response["Content-Type"].startswith("application/vnd.label-studio+json")
    assert [t["data"]["id"] for t in tasks] == ["sku-1", "sku-2", "sku-3"]
    assert tasks[0]["annotations"][0]["result"] == [
        {"from_name": "color", "to_name": "title", "type": "choices", "value": {"choices": ["red"]}}
    ]
    assert tasks[2]["annotations"][0]["result"] == []


def test_the_label_studio_config_has_a_control_per_facet(exporter: APIClient) -> None:
    response = exporter.get(EXPORT, {"format": "labelstudio-config"})

    view = ET.fromstring(response.content)
    controls = {c.get("name"): c for c in view.iter("Choices")}
    assert view.find("Text").get("value") == "$title"
    assert {name: c.get("choice") for name, c in controls.items()} == {
        "color": "multiple",
        "size": "single",
    }
    assert [c.get("value") for c in controls["color"]] == ["blue", "green", "red"]


def test_the_hf_rows_and_card_describe_the_same_dataset(exporter: APIClient) -> None:
    rows = [json.loads(line) for line in _body(exporter.get(EXPORT, {"format": "hf"})).splitlines()]
    card = exporter.get(EXPORT, {"format": "hf-card"})

    text = card.content.decode()
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert card["Content-Type"].startswith("text/markdown")
    assert [(r["id"], r["tags"]) for r in rows] == [
        ("sku-1", ["color:red"]),
        ("sku-2", ["color:blue"]),
        ("sku-3", []),
    ]
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/train.jsonl"}]
    assert [f["name"] for f in meta["dataset_info"]["features"]] == list(rows[0])
    assert meta["dataset_info"]["splits"] == [{"name": "train", "num_examples": 3}]
    assert "| `color:blue` | 1 |" in body
    assert "| `color:red` | 1 |" in body


def test_the_interop_formats_follow_the_export_filters(exporter: APIClient) -> None:
    rows = _body(exporter.get(EXPORT, {"format": "hf", "product_ids": "sku-2"})).splitlines()
    card = exporter.get(EXPORT, {"format": "hf-card", "product_ids": "sku-2"}).content.decode()

    assert [json.loads(r)["id"] for r in rows] == ["sku-2"]
    assert "num_examples: 1\n" in card

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import ApiToken, Product, ProductTag
from annotation.services.tag_changes import record_tag_changes
from tests.api.conftest import World, approve
from tests.factories import ProductFactory, ProductTagFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("api:export")


@pytest.fixture
def exporter(export_token: tuple[ApiToken, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {export_token[1]}")
    return client


@pytest.fixture
def tagged(world: World) -> list[Product]:
    """Seven products with approved tags, all changed in the same instant (the
    cursor must break the tie by id)."""
    extra = [
        ProductFactory(external_id=f"sku-{n}", title=f"Item {n}", category_path="Home > Lamps")
        for n in range(4, 8)
    ]
    for product in extra:
        approve(product, world.green)
    products = [*world.products, *extra]
    approve(world.products[2], world.large)
    approve(world.products[2], world.green)
    record_tag_changes(p.pk for p in products)
    return products


def _stream(response: object) -> str:
    assert response.streaming  # type: ignore[attr-defined]
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def test_json_pages_walk_every_product_exactly_once(
    exporter: APIClient, tagged: list[Product]
) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
        body = exporter.get(EXPORT, params).json()
        seen += [record["id"] for record in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(p.external_id for p in tagged)
    assert len(seen) == len(set(seen))
    assert pages == 4


def test_a_record_carries_approved_tags_with_provenance(
    exporter: APIClient, tagged: list[Product]
) -> None:
    body = exporter.get(EXPORT, {"product_ids": "sku-1"}).json()

    (record,) = body["results"]
    assert record["id"] == "sku-1"
    assert [t["tag"] for t in record["tags"]] == ["color:red"]
    assert record["tags"][0]["source"] == "import"
    assert record["removed"] == []


def test_jsonl_streams_one_record_per_line(exporter: APIClient, tagged: list[Product]) -> None:
    response = exporter.get(EXPORT, {"format": "jsonl"})

    lines = _stream(response).splitlines()
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(p.external_id for p in tagged)


def test_csv_streams_one_row_per_product_tag(exporter: APIClient, tagged: list[Product]) -> None:
    response = exporter.get(EXPORT, {"format": "csv"})

    rows = list(csv.DictReader(io.StringIO(_stream(response))))
    assert response["Content-Type"].startswith("text/csv")
    assert {(r["id"], r["tag"]) for r in rows if r["id"] == "sku-3"} == {
        ("sku-3", "size:L"),
        ("sku-3", "color:green"),
    }
    assert len(rows) == len(tagged) + 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "color:red"}, {"sku-1"}),
        ({"facet": "size"}, {"sku-3"}),
        ({"product_ids": "sku-1, sku-2"}, {"sku-1", "sku-2"}),
        ({"category": "apparel"}, {"sku-1", "sku-2"}),
        ({"category": "Home > Lamps", "tag": "color:green"}, {"sku-4", "sku-5", "sku-6", "sku-7"}),
    ],
)
def test_filters_select_the_products(
    exporter: APIClient, tagged: list[Product], params: dict[str, str], expected: set[str]
) -> None:
    body = exporter.get(EXPORT, params).json()

    assert {record["id"] for record in body["results"]} == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "Color:RED"}, {"sku-1"}),
        ({"tag": "color:crimson"}, {"sku-1"}),  # an alias, as the products' filters read it
        ({"facet": "SIZE"}, {"sku-3"}),
    ],
)
def test_the_tag_and_facet_filters_read_names_as_the_rest_of_the_api(
    exporter: APIClient, tagged: list[Product], params: dict[str, str], expected: set[str]
) -> None:
    body = exporter.get(EXPORT, params).json()

    assert {record["id"] for record in body["results"]} == expected


@pytest.mark.parametrize("export_format", ["json", "jsonl", "csv", "labelstudio", "hf"])
@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"tag": "nope:nope"}, {"tag": ["unknown tag 'nope:nope'"]}),
        ({"tag": "color:plaid"}, {"tag": ["unknown tag 'color:plaid'"]}),
        ({"facet": "nope"}, {"facet": ["unknown facet 'nope'"]}),
    ],
)
def test_an_unknown_tag_or_facet_is_a_400_not_an_empty_export(
    exporter: APIClient,
    tagged: list[Product],
    export_format: str,
    params: dict[str, str],
    error: dict[str, list[str]],
) -> None:
    response = exporter.get(EXPORT, {"format": export_format, **params})

    assert response.status_code == 400
    assert response.json() == error


def test_updated_since_returns_only_later_changes(
    exporter: APIClient, tagged: list[Product], world: World
) -> None:
    before = Product.objects.get(external_id="sku-2").tags_updated_at
    record_tag_changes([world.products[1].pk])

    body = exporter.get(EXPORT, {"updated_since": before.isoformat()}).json()

    assert [record["id"] for record in body["results"]] == ["sku-2"]


def test_updated_since_in_the_future_returns_nothing(
    exporter: APIClient, tagged: list[Product]
) -> None:
    later = (timezone.now() + timedelta(days=1)).isoformat()

    body = exporter.get(EXPORT, {"updated_since": later}).json()

    assert body == {"results": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"cursor": "not-a-cursor"}, "cursor", "invalid cursor"),
        ({"updated_since": "yesterday"}, "updated_since", "ISO 8601"),
        ({"format": "xml"}, "format", "not a valid choice"),
        ({"tag": "red"}, "tag", "not in facet:value form"),
        ({"page_size": "0"}, "page_size", "greater than or equal to 1"),
        ({"page_size": "5001"}, "page_size", "less than or equal to 5000"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(
    exporter: APIClient, params: dict[str, str], field: str, message: str
) -> None:
    response = exporter.get(EXPORT, params)

    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_anonymous_callers_are_refused(tagged: list[Product]) -> None:
    response = APIClient().get(EXPORT)

    assert response.status_code in (401, 403)


def test_a_record_is_complete_and_its_tags_ordered_by_facet(
    exporter: APIClient, world: World, make_user: Callable[..., User]
) -> None:
    # given: a human decision with a model score, an import, and a rejection
    rita = make_user("rita")
    product = world.products[0]
    when = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
    ProductTagFactory(
        product=product,
        tag=world.small,
        state=ProductTag.State.APPROVED,
        source=ProductTag.Source.HUMAN,
        decided_by=rita,
        decided_at=when + timedelta(microseconds=120000),
        model_version=world.version,
        score=0.75,
    )
    ProductTagFactory(
        product=product,
        tag=world.blue,
        state=ProductTag.State.REJECTED,
        source=ProductTag.Source.HUMAN,
        decided_by=rita,
        decided_at=when,
    )
    ProductTag.objects.filter(product=product, tag=world.red).update(decided_at=when)
    record_tag_changes([product.pk])
    changed_at = Product.objects.get(pk=product.pk).tags_updated_at
    # when
    jsonl = _stream(exporter.get(EXPORT, {"format": "jsonl", "product_ids": "sku-1"}))
    paged = exporter.get(EXPORT, {"product_ids": "sku-1"}).json()["results"]
    # then
    expected = {
        "id": "sku-1",
        "title": "Red cotton shirt",
        "category": "Apparel > Shirts",
        "changed_at": changed_at.isoformat(timespec="microseconds"),
        "tags": [
            {
                "tag": "color:red",
                "facet": "color",
                "value": "red",
                "source": "import",
                "decided_by": None,
                "decided_at": "2026-01-31T12:00:00.000000+00:00",
                "model_version": None,
                "score": None,
            },
            {
                "tag": "size:S",
                "facet": "size",
                "value": "S",
                "source": "human",
                "decided_by": "rita",
                "decided_at": "2026-01-31T12:00:00.120000+00:00",
                "model_version": world.version.pk,
                "score": 0.75,
            },
        ],
        "removed": [
            {
                "tag": "color:blue",
                "facet": "color",
                "value": "blue",
                "source": "human",
                "decided_by": "rita",
                "decided_at": "2026-01-31T12:00:00.000000+00:00",
                "model_version": None,
                "score": None,
            }
        ],
    }
    assert json.loads(jsonl) == expected
    assert paged == [expected]


def test_jsonl_carries_the_records_of_the_pages_from_any_cursor(
    exporter: APIClient, tagged: list[Product]
) -> None:
    first = exporter.get(EXPORT, {"page_size": 3}).json()
    rest = exporter.get(EXPORT, {"page_size": 100, "cursor": first["next_cursor"]}).json()

    everything = _stream(exporter.get(EXPORT, {"format": "jsonl"}))
    after_cursor = _stream(
        exporter.get(EXPORT, {"format": "jsonl", "cursor": first["next_cursor"]})
    )

    pages = first["results"] + rest["results"]
    assert [json.loads(line) for line in everything.splitlines()] == pages
    assert [json.loads(line) for line in after_cursor.splitlines()] == rest["results"]

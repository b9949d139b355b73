from typing import Any
from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import ImportBatch, Product, ProductTag
from annotation.services import queue
from tests.api.conftest import BELOW_ONE, NOT_INTEGERS, World
from tests.factories import ProductFactory, SuggestionFactory

pytestmark = pytest.mark.django_db
PRODUCTS = reverse("api:products")
BULK = reverse("api:products-bulk")


def _ids(body: dict[str, Any]) -> list[str]:
    return [product["id"] for product in body["results"]]


def test_the_list_shows_approved_tags(world: World, integrations: APIClient) -> None:
    body = integrations.get(PRODUCTS).json()

    assert _ids(body) == ["sku-1", "sku-2", "sku-3"]
    assert body["results"][0]["tags"] == ["color:red"]
    assert body["results"][0]["category"] == "Apparel > Shirts"
    # A cursor page has no count (not a null that reads as data): ?page= counts.
    assert "count" not in body


@pytest.mark.parametrize(
    ("accept", "status"),
    [("", 200), ("*/*", 200), ("application/json", 200), (" , ", 200), ("text/csv", 406)],
)
def test_an_empty_accept_header_accepts_json_as_a_missing_one_does(
    world: World, integrations: APIClient, accept: str, status: int
) -> None:
    response = integrations.get(PRODUCTS, HTTP_ACCEPT=accept)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if status == 200:
        assert _ids(response.json()) == ["sku-1", "sku-2", "sku-3"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "garden"}, ["sku-3"]),
        ({"has_tag": "color:blue"}, ["sku-2"]),
        ({"has_tag": "color:crimson"}, ["sku-1"]),
        ({"tag": "color:red"}, ["sku-1"]),
        ({"facet": "size"}, ["sku-1"]),
        ({"score_min": "0.5"}, ["sku-1", "sku-2"]),
        ({"q": "denim"}, ["sku-2"]),
        ({"state": "reviewed"}, []),
    ],
)
def test_filters_select_products(
    world: World, integrations: APIClient, params: dict[str, str], expected: list[str]
) -> None:
    body = integrations.get(PRODUCTS, params).json()

    assert _ids(body) == expected


def test_an_unknown_tag_filter_is_a_400(world: World, integrations: APIClient) -> None:
    response = integrations.get(PRODUCTS, {"has_tag": "color:plaid"})

    assert response.status_code == 400
    assert response.json() == {"has_tag": ["unknown tag 'color:plaid'"]}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"tag": "nope:nope"}, {"tag": ["unknown tag 'nope:nope'"]}),
        ({"tag": "color:plaid"}, {"tag": ["unknown tag 'color:plaid'"]}),
        ({"facet": "nope"}, {"facet": ["unknown facet 'nope'"]}),
    ],
)
def test_an_unknown_suggestion_tag_or_facet_is_a_400(
    world: World, integrations: APIClient, params: dict[str, str], error: dict[str, list[str]]
) -> None:
    response = integrations.get(PRODUCTS, params)

    assert response.status_code == 400
    assert response.json() == error


def test_the_facet_filter_reads_a_name_in_any_case_as_the_tag_filters_do(
    world: World, integrations: APIClient
) -> None:
    body = integrations.get(PRODUCTS, {"facet": "SIZE"}).json()

    assert _ids(body) == ["sku-1"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *BELOW_ONE,
        *NOT_INTEGERS,
        ("1001", "Ensure this value is less than or equal to 1000."),
    ],
)
@pytest.mark.parametrize("paging", [{}, {"page": "1"}])
def test_an_invalid_page_size_is_a_400_naming_it(
    world: World, integrations: APIClient, value: str, message: str, paging: dict[str, str]
) -> None:
    response = integrations.get(PRODUCTS, {"page_size": value, **paging})

    assert response.status_code == 400
    assert response.json() == {"page_size": [message]}


def test_the_largest_page_size_is_served(world: World, integrations: APIClient) -> None:
    response = integrations.get(PRODUCTS, {"page_size": "1000"})

    assert response.status_code == 200
    assert _ids(response.json()) == ["sku-1", "sku-2", "sku-3"]


def test_cursor_pages_walk_every_product_once(world: World, integrations: APIClient) -> None:
    seen: list[str] = []
    url: str | None = f"{PRODUCTS}?page_size=2"
    while url:
        body = integrations.get(url).json()
        seen += _ids(body)
        url = body["next"]

    assert seen == ["sku-1", "sku-2", "sku-3"]


def test_page_numbers_report_the_count(world: World, integrations: APIClient) -> None:
    body = integrations.get(PRODUCTS, {"page": 2, "page_size": 2}).json()

    assert body["count"] == 3
    assert _ids(body) == ["sku-3"]
    assert list(body) == ["count", "next", "previous", "results"]


def test_creating_a_product_goes_through_the_import(world: World, integrations: APIClient) -> None:
    response = integrations.post(
        PRODUCTS,
        {
            "id": "sku-9",
            "title": "<b>Linen</b>   lamp ",
            "category": "Home>Lamps",
            "tags": ["color:green"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Linen lamp"
    assert body["category"] == "Home > Lamps"
    assert body["tags"] == ["color:green"]
    assert body["language"] == "en"
    assert ImportBatch.objects.get().source == "api:create"


def test_creating_an_existing_id_is_a_conflict(world: World, integrations: APIClient) -> None:
    response = integrations.post(PRODUCTS, {"id": "sku-1", "title": "Again"}, format="json")

    assert response.status_code == 409
    assert "PATCH" in response.json()["detail"]


def test_an_invalid_product_is_refused_with_the_import_reason(
    world: World, integrations: APIClient
) -> None:
    response = integrations.post(
        PRODUCTS,
        {"id": "sku-9", "title": "Lamp", "image_url": "javascript:alert(1)"},
        format="json",
    )

    assert response.status_code == 400
    assert "image_url is not a valid http(s) URL" in response.json()["detail"]
    assert not Product.objects.filter(external_id="sku-9").exists()


def test_a_bulk_with_a_bad_row_saves_nothing(world: World, integrations: APIClient) -> None:
    rows = [
        {"id": "sku-1", "title": "Red cotton shirt, slim"},
        {"id": "sku-10", "title": ""},
        {"id": "sku-11", "title": "Wool hat", "tags": ["not-a-tag"]},
    ]

    response = integrations.post(BULK, {"products": rows}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["succeeded"] is False
    assert [e["index"] for e in body["errors"]] == [1, 2]
    assert "title is empty" in body["errors"][0]["reason"]
    assert "facet:value" in body["errors"][1]["reason"]
    assert "nothing was saved" in body["detail"]
    assert Product.objects.get(external_id="sku-1").title == "Red cotton shirt"
    assert Product.objects.count() == 3


def test_a_bulk_with_keep_valid_saves_the_good_rows(world: World, integrations: APIClient) -> None:
    rows = [
        {"id": "sku-1", "title": "Red cotton shirt, slim"},
        {"id": "sku-10", "title": ""},
        {"id": "sku-11", "title": "Wool hat", "tags": ["color:green"]},
    ]

    response = integrations.post(BULK, {"products": rows, "keep_valid": True}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert (body["created"], body["updated"], body["rejected"]) == (1, 1, 1)
    assert body["errors"][0]["index"] == 1
    assert Product.objects.get(external_id="sku-1").title == "Red cotton shirt, slim"
    assert ProductTag.objects.filter(product__external_id="sku-11", tag=world.green).exists()


def test_patch_changes_only_the_given_fields(world: World, integrations: APIClient) -> None:
    response = integrations.patch(
        reverse("api:product", args=["sku-1"]), {"brand": " Acme "}, format="json"
    )

    body = response.json()
    assert response.status_code == 200
    assert body["brand"] == "Acme"
    assert body["title"] == "Red cotton shirt"
    assert body["category"] == "Apparel > Shirts"
    assert body["tags"] == ["color:red"]


def test_patch_is_validated_by_the_import(world: World, integrations: APIClient) -> None:
    response = integrations.patch(
        reverse("api:product", args=["sku-1"]), {"title": "  "}, format="json"
    )

    assert response.status_code == 400
    assert "title is empty" in response.json()["detail"]


def test_an_unknown_product_is_a_404(world: World, integrations: APIClient) -> None:
    response = integrations.get(reverse("api:product", args=["nope"]))

    assert response.status_code == 404
    assert "detail" in response.json()


def test_suggestions_come_from_the_active_version_by_default(
    world: World, integrations: APIClient
) -> None:
    body = integrations.get(reverse("api:product-suggestions", args=["sku-1"])).json()

    assert body["model_version"] == world.version.pk
    assert [(s["key"], s["score"], s["selected"]) for s in body["results"]] == [
        ("color:red", 0.91, True),
        ("size:S", 0.55, True),
    ]


def test_suggestions_of_another_version(world: World, integrations: APIClient) -> None:
    other = world.version_with_files()

    url = reverse("api:product-suggestions", args=["sku-1"])
    body = integrations.get(url, {"model_version": other.pk}).json()
    missing = integrations.get(url, {"model_version": 99999})

    assert body == {"model_version": other.pk, "results": []}
    assert missing.status_code == 404


# Ids as catalogues have them: one that is also a route's name, a slash, a space,
# Chinese, and all of these.
ODD_IDS = ["bulk", "a/b", "sku 1", "中文-1", "bulk/a b/中文"]


def _url(external_id: str, suffix: str = "") -> str:
    """A product URL as a client writes it from the schema: the id percent-encoded
    as a path (slashes as they are)."""
    return f"/api/v1/products/{quote(external_id)}/{suffix}"


@pytest.mark.parametrize("external_id", ODD_IDS)
def test_every_route_reaches_a_product_whatever_its_id(
    world: World, integrations: APIClient, external_id: str
) -> None:
    # given
    product = ProductFactory(
        external_id=external_id, title="Odd lamp", category_path="Home > Lamps"
    )
    SuggestionFactory(
        product=product, tag=world.green, model_version=world.version, score=0.7, selected=True
    )
    queue.ensure_queue_entries()
    # when
    shown = integrations.get(_url(external_id))
    changed = integrations.patch(_url(external_id), {"brand": "Acme"}, format="json")
    suggested = integrations.get(_url(external_id, "suggestions/"))
    reviewed = integrations.post(
        _url(external_id, "review/"),
        {"decisions": [{"tag": "color:green", "approved": True}]},
        format="json",
    )
    skipped = integrations.post(f"/api/v1/review/{quote(external_id)}/skip/")
    # then
    assert (shown.status_code, shown.json()["id"]) == (200, external_id)
    assert (changed.status_code, changed.json()["brand"]) == (200, "Acme")
    assert [s["key"] for s in suggested.json()["results"]] == ["color:green"]
    assert reviewed.json()["product"] == external_id
    assert skipped.status_code == 204
    assert Product.objects.get(external_id=external_id).brand == "Acme"


@pytest.mark.parametrize("external_id", ODD_IDS)
def test_reverse_writes_the_url_clients_write(external_id: str) -> None:
    assert reverse("api:product", args=[external_id]) == _url(external_id)
    assert reverse("api:product-review", args=[external_id]) == _url(external_id, "review/")


def test_the_bulk_import_still_answers_post_at_its_url(
    world: World, integrations: APIClient
) -> None:
    ProductFactory(external_id="bulk", title="A product called bulk")

    response = integrations.post(
        BULK, {"products": [{"id": "sku-9", "title": "Vase"}]}, format="json"
    )

    assert (response.status_code, response.json()["created"]) == (200, 1)
    assert Product.objects.get(external_id="bulk").title == "A product called bulk"


def test_an_unknown_id_with_a_slash_is_a_404(world: World, integrations: APIClient) -> None:
    response = integrations.get(_url("no/such/product"))

    assert response.status_code == 404


def test_a_sub_resource_wins_over_an_id_ending_in_its_name(
    world: World, integrations: APIClient
) -> None:
    # given: the one clash the schema documents
    ProductFactory(external_id="sku-1/suggestions", title="A product named like a sub-resource")

    body = integrations.get(_url("sku-1", "suggestions/")).json()

    assert body["model_version"] == world.version.pk

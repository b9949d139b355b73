"""What every list endpoint does with the parameters they share, the same way on
each: a tag or facet filter that names nothing is a 400 (never an empty list
that looks like "no products have it"), a page size outside its bounds is a 400
(never the default or the maximum instead), so is a page number that is not one
of the list's pages (never DRF's 404 "Invalid page."), and a page carries a
`count` only when it is a real one (?page=)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from annotation.api.base import MAX_PAGE_SIZE, ListApiView
from annotation.api.export import MAX_PAGE_SIZE as EXPORT_MAX_PAGE_SIZE
from annotation.models import ApiToken
from tests.api.conftest import BELOW_ONE, NOT_INTEGERS, World
from tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db
EXPORT = reverse("api:export")


def _list_routes() -> list[str]:
    """The names of the API's routes served by a ListApiView, found in the URL
    conf, so that a list added later is checked too."""

    def walk(patterns: list[Any]) -> Iterator[URLPattern]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    api = get_resolver().namespace_dict["api"][1]
    return sorted(
        str(p.name)
        for p in walk(api.url_patterns)
        if issubclass(getattr(p.callback, "view_class", object), ListApiView)
    )


LISTS = _list_routes()


@pytest.fixture(params=LISTS)
def list_url(request: pytest.FixtureRequest, world: World) -> str:
    """The URL of each list in turn (of one webhook's, for its deliveries)."""
    name = request.param
    if name == "webhook-deliveries":
        return reverse(f"api:{name}", args=[WebhookFactory().pk])
    return reverse(f"api:{name}")


def test_the_lists_are_found() -> None:
    assert {"products", "tags", "facets", "tokens", "training-runs", "model-versions"} <= set(LISTS)
    assert "webhook-deliveries" in LISTS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *BELOW_ONE,
        ("abc", "A valid integer is required."),
        (str(MAX_PAGE_SIZE + 1), f"Ensure this value is less than or equal to {MAX_PAGE_SIZE}."),
    ],
)
def test_every_list_refuses_a_page_size_out_of_bounds(
    integrations: APIClient, list_url: str, value: str, message: str
) -> None:
    cursor_page = integrations.get(list_url, {"page_size": value})
    numbered_page = integrations.get(list_url, {"page_size": value, "page": "1"})

    assert (cursor_page.status_code, cursor_page.json()) == (400, {"page_size": [message]})
    assert (numbered_page.status_code, numbered_page.json()) == (400, {"page_size": [message]})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *BELOW_ONE,
        ("abc", "A valid integer is required."),
        (
            str(EXPORT_MAX_PAGE_SIZE + 1),
            f"Ensure this value is less than or equal to {EXPORT_MAX_PAGE_SIZE}.",
        ),
    ],
)
def test_the_export_refuses_the_same_page_sizes_in_the_same_words(
    world: World, export_token: tuple[ApiToken, str], value: str, message: str
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {export_token[1]}")

    response = client.get(EXPORT, {"page_size": value})

    assert (response.status_code, response.json()) == (400, {"page_size": [message]})


def test_every_list_counts_only_numbered_pages(integrations: APIClient, list_url: str) -> None:
    cursor_page = integrations.get(list_url, {"page_size": MAX_PAGE_SIZE}).json()
    numbered_page = integrations.get(list_url, {"page": "1", "page_size": MAX_PAGE_SIZE}).json()

    assert set(cursor_page) == {"next", "previous", "results"}
    assert numbered_page["count"] == len(numbered_page["results"])


# Every parameter of the API that filters by a tag or a facet.
TAG_FILTERS = [
    ("products", "tag", "nope:nope", "unknown tag 'nope:nope'"),
    ("products", "has_tag", "nope:nope", "unknown tag 'nope:nope'"),
    ("products", "facet", "nope", "unknown facet 'nope'"),
    ("tags", "facet", "nope", "unknown facet 'nope'"),
    ("export", "tag", "nope:nope", "unknown tag 'nope:nope'"),
    ("export", "tag", "color:plaid", "unknown tag 'color:plaid'"),
    ("export", "facet", "nope", "unknown facet 'nope'"),
]


@pytest.mark.parametrize(("name", "param", "value", "message"), TAG_FILTERS)
def test_a_filter_on_an_unknown_tag_or_facet_is_a_400_everywhere(
    world: World, integrations: APIClient, name: str, param: str, value: str, message: str
) -> None:
    response = integrations.get(reverse(f"api:{name}"), {param: value})

    assert response.status_code == 400
    assert response.json() == {param: [message]}


@pytest.mark.parametrize(
    ("name", "param", "value", "expected"),
    [
        ("products", "tag", "COLOR:Red", ["sku-1"]),
        ("products", "has_tag", "Color:CRIMSON", ["sku-1"]),
        ("products", "facet", "Size", ["sku-1"]),
        ("tags", "facet", "SIZE", ["size:S", "size:L"]),
    ],
)
def test_a_known_tag_or_facet_is_found_in_any_case(
    world: World, integrations: APIClient, name: str, param: str, value: str, expected: list[str]
) -> None:
    body = integrations.get(reverse(f"api:{name}"), {param: value}).json()

    key = "id" if name == "products" else "key"
    assert [row[key] for row in body["results"]] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *BELOW_ONE,
        *NOT_INTEGERS,
        # Past the last page (every list of the test world fits on one page).
        ("2", "Ensure this value is less than or equal to 1."),
        ("9" * 30, "Ensure this value is less than or equal to 1."),
    ],
)
def test_every_list_refuses_a_page_that_is_not_one_of_its_pages(
    integrations: APIClient, list_url: str, value: str, message: str
) -> None:
    response = integrations.get(list_url, {"page": value})

    assert (response.status_code, response.json()) == (400, {"page": [message]})


def test_every_list_serves_its_first_and_last_page(integrations: APIClient, list_url: str) -> None:
    first = integrations.get(list_url, {"page": "1"})
    last = integrations.get(list_url, {"page": "last"})

    assert (first.status_code, last.status_code) == (200, 200)
    assert first.json() == last.json()


def test_a_page_past_the_last_names_the_last(world: World, integrations: APIClient) -> None:
    url = reverse("api:products")

    second = integrations.get(url, {"page": "2", "page_size": "2"})
    third = integrations.get(url, {"page": "3", "page_size": "2"})

    assert second.status_code == 200
    assert [row["id"] for row in second.json()["results"]] == ["sku-3"]
    assert (third.status_code, third.json()) == (
        400,
        {"page": ["Ensure this value is less than or equal to 2."]},
    )


def test_the_schema_gives_page_its_minimum_and_says_other_values_are_a_400() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        page = next((p for p in parameters if p["name"] == "page"), None)
        if page is None:
            continue
        assert page["schema"] == {"type": "integer", "minimum": 1}, path
        assert "Any other value is a 400" in page["description"], path

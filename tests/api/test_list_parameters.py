"""What every endpoint that filters by a tag or a facet does with a name that
names nothing: a 400 naming the parameter, the same way on each, never an empty
list that looks like "no products have it"."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.conftest import World

pytestmark = pytest.mark.django_db


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

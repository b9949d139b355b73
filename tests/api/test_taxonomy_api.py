import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import ProductTag, Tag, TagGroup
from tests.api.conftest import World, approve

pytestmark = pytest.mark.django_db
FACETS = reverse("api:facets")
TAGS = reverse("api:tags")


def test_a_facet_is_created_and_edited(world: World, integrations: APIClient) -> None:
    created = integrations.post(
        FACETS, {"name": " Material ", "multi_valued": False, "position": 3}, format="json"
    )
    facet_id = created.json()["id"]
    patched = integrations.patch(
        reverse("api:facet", args=[facet_id]), {"display_name_zh": "材质"}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["name"] == "Material"
    assert patched.json()["display_name_zh"] == "材质"
    assert TagGroup.objects.get(pk=facet_id).multi_valued is False


def test_a_facet_name_is_taken_case_insensitively(world: World, integrations: APIClient) -> None:
    response = integrations.post(FACETS, {"name": "COLOR"}, format="json")

    assert response.status_code == 400
    assert "exists" in response.json()["name"][0]


@pytest.mark.parametrize(("first", "second"), [("état", "ÉTAT"), ("straße", "STRASSE")])
def test_a_facet_name_is_taken_whatever_the_script_of_its_letters(
    world: World, integrations: APIClient, first: str, second: str
) -> None:
    # SQLite's iexact folds ASCII only: the API must match names as the import does
    # (found by the schema fuzzer: a 500 after the import had updated the facet).
    assert integrations.post(FACETS, {"name": first}, format="json").status_code == 201

    response = integrations.post(FACETS, {"name": second}, format="json")

    assert response.status_code == 400
    assert "exists" in response.json()["name"][0]
    assert TagGroup.objects.filter(name=first).count() == 1


def test_a_tag_name_is_taken_whatever_the_script_of_its_letters(
    world: World, integrations: APIClient
) -> None:
    created = integrations.post(TAGS, {"facet": "color", "name": "écru"}, format="json")

    response = integrations.post(TAGS, {"facet": "color", "name": "ÉCRU"}, format="json")

    assert created.status_code == 201, created.json()
    assert response.status_code == 400
    assert "already has" in response.json()["name"][0]


def test_a_facet_cannot_be_renamed(world: World, integrations: APIClient) -> None:
    response = integrations.patch(
        reverse("api:facet", args=[world.color.pk]), {"name": "colour"}, format="json"
    )

    assert response.status_code == 400


def test_a_tag_is_created_with_aliases(world: World, integrations: APIClient) -> None:
    response = integrations.post(
        TAGS,
        {"facet": "color", "name": "navy", "display_name_en": "Navy", "aliases": ["dark blue"]},
        format="json",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert (body["key"], body["aliases"], body["affected_products"]) == (
        "color:navy",
        ["dark blue"],
        0,
    )


def test_an_alias_that_names_another_tag_creates_nothing(
    world: World, integrations: APIClient
) -> None:
    response = integrations.post(
        TAGS, {"facet": "color", "name": "scarlet", "aliases": ["crimson"]}, format="json"
    )

    assert response.status_code == 400
    assert "crimson" in response.json()["detail"]
    assert not Tag.objects.filter(name="scarlet").exists()


def test_the_tag_list_filters_by_facet_and_status(world: World, integrations: APIClient) -> None:
    world.large.status = Tag.Status.DEPRECATED
    world.large.save(update_fields=["status"])

    body = integrations.get(TAGS, {"facet": "size", "status": "active"}).json()

    assert [t["key"] for t in body["results"]] == ["size:S"]


def test_renaming_keeps_the_old_name_as_an_alias(world: World, integrations: APIClient) -> None:
    response = integrations.patch(
        reverse("api:tag", args=[world.blue.pk]),
        {"name": "cobalt", "display_name_en": "Cobalt"},
        format="json",
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["name"], body["display_name_en"]) == ("cobalt", "Cobalt")
    assert "blue" in body["aliases"]


def test_a_rename_onto_another_tag_is_refused_and_rolls_back(
    world: World, integrations: APIClient
) -> None:
    response = integrations.patch(
        reverse("api:tag", args=[world.blue.pk]),
        {"display_name_en": "Changed", "name": "red"},
        format="json",
    )

    assert response.status_code == 400
    assert "merge" in response.json()["detail"]
    world.blue.refresh_from_db()
    assert world.blue.display_name_en == ""


def test_a_merge_moves_decisions_and_reports_the_affected_products(
    world: World, integrations: APIClient
) -> None:
    teal = world.tag("teal")
    approve(world.products[2], teal)
    approve(world.products[1], teal)

    response = integrations.post(
        reverse("api:tag-merge", args=[teal.pk]), {"into": world.blue.pk}, format="json"
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["affected_products"], body["moved"], body["folded"]) == (2, 1, 1)
    assert body["tag"]["status"] == "deprecated"
    assert "teal" in body["into"]["aliases"]
    assert set(
        ProductTag.objects.filter(tag=world.blue).values_list("product__external_id", flat=True)
    ) == {"sku-2", "sku-3"}


def test_a_merge_across_facets_is_refused(world: World, integrations: APIClient) -> None:
    response = integrations.post(
        reverse("api:tag-merge", args=[world.red.pk]), {"into": world.small.pk}, format="json"
    )

    assert response.status_code == 400
    assert "different facets" in response.json()["detail"]


def test_deprecating_reports_the_affected_products_once(
    world: World, integrations: APIClient
) -> None:
    url = reverse("api:tag-deprecate", args=[world.red.pk])

    first = integrations.post(url)
    second = integrations.post(url)

    assert first.json()["affected_products"] == 1
    assert first.json()["suggestions_withdrawn"] == 1
    assert first.json()["tag"]["status"] == "deprecated"
    assert second.status_code == 400
    assert "already deprecated" in second.json()["detail"]


def test_a_facet_name_holding_nul_is_a_400_not_a_database_error(
    world: World, integrations: APIClient
) -> None:
    # PostgreSQL refuses NUL in text; found by the schema fuzzer as a 500.
    response = integrations.post(TAGS, {"facet": "col\x00or", "name": "teal"}, format="json")

    assert response.status_code == 400
    assert "facet" in response.json()


RULE = (
    "is not a valid facet name: use letters (any script) and digits, with single spaces, "
    "_, - or / between words, and no other punctuation."
)


@pytest.mark.parametrize("name", ["colour!", "-size", "size/", "a__b", "col.or", "a - b"])
def test_a_new_facet_name_against_the_rule_is_a_400_naming_it(
    world: World, integrations: APIClient, name: str
) -> None:
    response = integrations.post(FACETS, {"name": name, "tags": []}, format="json")

    assert (response.status_code, response.json()) == (400, {"name": [f"“{name}” {RULE}"]})
    assert not TagGroup.objects.filter(name=name).exists()


def test_a_facet_name_with_a_colon_is_a_400_saying_why(
    world: World, integrations: APIClient
) -> None:
    response = integrations.post(FACETS, {"name": "size:eu"}, format="json")

    assert (response.status_code, response.json()) == (
        400,
        {"name": ["A facet name cannot contain ':', which separates facet and value."]},
    )


@pytest.mark.parametrize(
    "name", ["ideal for", "precious/artificial jewellery", "一级类目", "size_eu"]
)
def test_facet_names_of_real_catalogues_are_created(
    world: World, integrations: APIClient, name: str
) -> None:
    response = integrations.post(FACETS, {"name": name}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["name"] == name


def test_a_facet_named_before_the_rule_is_still_edited(
    world: World, integrations: APIClient
) -> None:
    old = TagGroup.objects.create(name="colour (main)")

    response = integrations.patch(
        reverse("api:facet", args=[old.pk]),
        {"name": "colour (main)", "display_name_zh": "主色"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["display_name_zh"] == "主色"

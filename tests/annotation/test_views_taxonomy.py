import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import ProductTag, Tag, TagGroup
from tests.annotation.ui_catalog import Catalog, build_catalog
from tests.factories import ProductTagFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def approve(catalog: Catalog, tag: Tag, count: int) -> None:
    for product in catalog.products[:count]:
        ProductTagFactory(
            product=product, tag=tag, state="approved", source="human", decided_at=timezone.now()
        )


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "annotation:taxonomy"),
        ("get", "annotation:taxonomy_tag"),
        ("post", "annotation:taxonomy_merge"),
        ("post", "annotation:taxonomy_deprecate"),
        ("post", "annotation:taxonomy_rename"),
        ("post", "annotation:taxonomy_aliases"),
        ("post", "annotation:taxonomy_add_tag"),
    ],
)
def test_merchandisers_get_403_on_taxonomy_pages_and_actions(
    client: Client, merchandiser: User, method: str, name: str
) -> None:
    catalog = build_catalog(products=0)
    red = catalog.tags["red"]
    client.force_login(merchandiser)
    args = [] if name in ("annotation:taxonomy", "annotation:taxonomy_add_tag") else [red.pk]

    response = getattr(client, method)(reverse(name, args=args), {"into": "color:blue"})

    assert response.status_code == 403
    red.refresh_from_db()
    assert red.is_active


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(reverse("annotation:taxonomy"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admins_browse_facets_and_tags_with_counts(admin_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=6)
    approve(catalog, catalog.tags["red"], 6)

    response = admin_client.get(reverse("annotation:taxonomy"))

    html = response.content.decode()
    assert response.status_code == 200
    groups = {g.name: g for g in response.context["groups"]}
    counts = {t.name: t.positives for t in groups["color"].shown_tags}
    assert counts == {"blue": 0, "red": 6}
    assert groups["material"].tag_count == 3
    assert "红色" in html
    assert "crimson, scarlet" in html


def test_the_tag_search_finds_aliases(admin_client: Client) -> None:
    build_catalog(products=0)

    response = admin_client.get(reverse("annotation:taxonomy"), {"q": "merino"})

    shown = [t.name for g in response.context["groups"] for t in g.shown_tags]
    assert shown == ["wool"]


def test_merge_asks_for_confirmation_with_the_affected_count(admin_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=3)
    scarlet = TagFactory(group=catalog.color, name="scarlet-red")
    approve(catalog, scarlet, 3)
    url = reverse("annotation:taxonomy_merge", args=[scarlet.pk])

    confirm_page = admin_client.post(url, {"into": "color:red"})

    assert "This affects 3 products." in confirm_page.content.decode()
    assert 'name="confirm" value="1"' in confirm_page.content.decode()
    scarlet.refresh_from_db()
    assert scarlet.is_active

    admin_client.post(url, {"into": "color:red", "confirm": "1"})

    scarlet.refresh_from_db()
    assert scarlet.merged_into == catalog.tags["red"]
    assert ProductTag.objects.filter(tag=catalog.tags["red"], state="approved").count() == 3


def test_merge_into_itself_is_refused(admin_client: Client) -> None:
    catalog = build_catalog(products=0)
    red = catalog.tags["red"]

    response = admin_client.post(
        reverse("annotation:taxonomy_merge", args=[red.pk]),
        {"into": "color:red", "confirm": "1"},
        follow=True,
    )

    assert "cannot be merged into itself" in response.content.decode()


def test_deprecate_confirms_then_retires_the_tag(admin_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=2)
    wool = catalog.tags["wool"]
    url = reverse("annotation:taxonomy_deprecate", args=[wool.pk])

    confirm_page = admin_client.post(url)
    wool.refresh_from_db()
    assert wool.is_active
    assert "This affects 0 products." in confirm_page.content.decode()

    admin_client.post(url, {"confirm": "1"})

    wool.refresh_from_db()
    assert not wool.is_active


def test_rename_confirms_then_keeps_the_old_name_as_an_alias(admin_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=1)
    red = catalog.tags["red"]
    approve(catalog, red, 1)
    url = reverse("annotation:taxonomy_rename", args=[red.pk])

    confirm_page = admin_client.post(url, {"name": "ruby"})
    assert "This affects 1 product." in confirm_page.content.decode()

    admin_client.post(url, {"name": "ruby", "confirm": "1"})

    red.refresh_from_db()
    assert red.name == "ruby"
    assert "red" in red.aliases


def test_aliases_are_saved_from_lines_and_commas(admin_client: Client) -> None:
    catalog = build_catalog(products=0)
    blue = catalog.tags["blue"]

    admin_client.post(
        reverse("annotation:taxonomy_aliases", args=[blue.pk]),
        {"aliases": "navy, azure\n天蓝\n\nnavy"},
    )

    blue.refresh_from_db()
    assert blue.aliases == ["navy", "azure", "天蓝"]


def test_an_alias_owned_by_another_tag_is_refused(admin_client: Client) -> None:
    catalog = build_catalog(products=0)
    blue = catalog.tags["blue"]

    response = admin_client.post(
        reverse("annotation:taxonomy_aliases", args=[blue.pk]), {"aliases": "crimson"}, follow=True
    )

    assert "already leads to the tag" in response.content.decode()
    blue.refresh_from_db()
    assert blue.aliases == ["navy"]


def test_admins_add_tags_and_facets(admin_client: Client) -> None:
    catalog = build_catalog(products=0)

    admin_client.post(
        reverse("annotation:taxonomy_add_facet"),
        {"facet-name": "season", "facet-display_name_zh": "季节", "facet-position": "3"},
    )
    response = admin_client.post(
        reverse("annotation:taxonomy_add_tag"),
        {
            "tag-group": catalog.material.pk,
            "tag-name": "linen",
            "tag-display_name_zh": "亚麻",
            "tag-aliases": "flax, 麻",
        },
    )

    linen = Tag.objects.get(group=catalog.material, name="linen")
    assert response["Location"] == reverse("annotation:taxonomy_tag", args=[linen.pk])
    assert linen.aliases == ["flax", "麻"]
    assert linen.display_name_zh == "亚麻"
    assert Tag.objects.filter(group__name="season").count() == 0
    # An unticked checkbox: the new facet is single-valued.
    assert TagGroup.objects.filter(name="season", multi_valued=False).exists()


def test_display_names_can_be_edited(admin_client: Client) -> None:
    catalog = build_catalog(products=0)
    silk = catalog.tags["silk"]

    admin_client.post(
        reverse("annotation:taxonomy_names", args=[silk.pk]),
        {"display_name_en": "Pure silk", "display_name_zh": "真丝"},
    )

    silk.refresh_from_db()
    assert (silk.display_name_en, silk.display_name_zh) == ("Pure silk", "真丝")

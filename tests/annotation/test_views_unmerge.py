"""The taxonomy pages: a merge needs an exact target and says what will move;
a merged tag can be unmerged from its page; a rename shows everywhere."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import ProductTag, ReviewEvent, Tag
from annotation.services import taxonomy
from annotation.services.review import review_state
from tests.annotation.ui_catalog import Catalog, build_catalog
from tests.factories import ProductTagFactory, TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def catalog() -> Catalog:
    catalog = build_catalog(products=0, extra_products=3)
    navy = TagFactory(group=catalog.color, name="Navy", display_name_en="Navy")
    TagFactory(group=catalog.color, name="Pink", aliases=["blush"])
    for product in catalog.products:
        ProductTagFactory(product=product, tag=navy, source="human", decided_at=timezone.now())
    catalog.tags["navy"] = navy
    return catalog


def merge_url(tag: Tag) -> str:
    return reverse("annotation:taxonomy_merge", args=[tag.pk])


def test_the_merge_picker_shows_each_tag_as_facet_and_name(
    admin_client: Client, catalog: Catalog
) -> None:
    html = admin_client.get(
        reverse("annotation:taxonomy_tag", args=[catalog.tags["navy"].pk])
    ).content.decode()

    assert "data-merge-picker" in html
    assert f'data-facet="{catalog.color.pk}"' in html
    assert 'name="into_id"' in html
    assert "annotation/merge.js" in html


@pytest.mark.parametrize("typed", ["color:blu", "color:pink", "Pink", "color:blush"])
def test_a_merge_target_that_is_not_exactly_one_tag_is_refused(
    admin_client: Client, catalog: Catalog, typed: str
) -> None:
    navy = catalog.tags["navy"]

    response = admin_client.post(merge_url(navy), {"into": typed, "confirm": "1"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "No tag is exactly" in html
    navy.refresh_from_db()
    assert navy.is_active
    assert ProductTag.objects.filter(tag=navy).count() == 3


def test_an_inexact_target_lists_the_tags_it_might_mean(
    admin_client: Client, catalog: Catalog
) -> None:
    response = admin_client.post(merge_url(catalog.tags["navy"]), {"into": "color:blu"})

    assert "Did you mean: color: blue; color: Pink?" in response.content.decode()


def test_a_picked_id_that_disagrees_with_the_text_is_refused(
    admin_client: Client, catalog: Catalog
) -> None:
    navy = catalog.tags["navy"]

    response = admin_client.post(
        merge_url(navy),
        {"into": "color:Pink", "into_id": catalog.tags["blue"].pk, "confirm": "1"},
    )

    assert "not the tag picked from the list" in response.content.decode()
    navy.refresh_from_db()
    assert navy.is_active


def test_a_target_in_another_facet_is_refused_by_the_form(
    admin_client: Client, catalog: Catalog
) -> None:
    navy = catalog.tags["navy"]

    response = admin_client.post(merge_url(navy), {"into": "material:cotton", "confirm": "1"})

    assert "merges only within its facet" in response.content.decode()
    navy.refresh_from_db()
    assert navy.is_active


def test_the_confirmation_states_what_will_move(admin_client: Client, catalog: Catalog) -> None:
    navy, blue = catalog.tags["navy"], catalog.tags["blue"]
    ProductTagFactory(
        product=catalog.products[0], tag=blue, source="auto", decided_at=timezone.now()
    )

    response = admin_client.post(merge_url(navy), {"into": "color:blue"})

    html = response.content.decode()
    assert "Merge color: Navy into color: blue" in html
    assert "2 decisions move to color: blue." in html
    assert "1 product carries both tags" in html
    assert "(1 replaced)" in html
    assert "3 history events move." not in html  # no events were recorded here
    assert "0 history events move." in html
    assert f'name="into_id" value="{blue.pk}"' in html
    # Enter on the confirmation cancels: the focus starts on Cancel.
    assert 'class="danger">' in html
    assert 'href="{}" autofocus'.format(reverse("annotation:taxonomy_tag", args=[navy.pk])) in html
    navy.refresh_from_db()
    assert navy.is_active


def test_a_merged_tag_is_unmerged_from_its_page(admin_client: Client, catalog: Catalog) -> None:
    navy, blue = catalog.tags["navy"], catalog.tags["blue"]
    admin_client.post(merge_url(navy), {"into": "color:blue", "into_id": blue.pk, "confirm": "1"})
    navy.refresh_from_db()
    assert navy.merged_into == blue
    url = reverse("annotation:taxonomy_unmerge", args=[navy.pk])

    page = admin_client.get(reverse("annotation:taxonomy_tag", args=[navy.pk])).content.decode()
    confirm = admin_client.post(url).content.decode()
    done = admin_client.post(url, {"confirm": "1"}, follow=True).content.decode()

    assert url in page
    assert "Unmerge color: Navy from color: blue" in confirm
    assert "3 decisions go back to color: Navy." in confirm
    assert "Unmerged color:Navy from color:blue" in done
    navy.refresh_from_db()
    assert (navy.is_active, navy.merged_into) == (True, None)
    assert ProductTag.objects.filter(tag=navy).count() == 3
    assert ReviewEvent.objects.filter(action="unmerge", tag=navy).count() == 3


def test_unmerging_a_tag_that_is_not_merged_says_so(admin_client: Client, catalog: Catalog) -> None:
    navy = catalog.tags["navy"]

    response = admin_client.post(
        reverse("annotation:taxonomy_unmerge", args=[navy.pk]), {"confirm": "1"}, follow=True
    )

    assert "is not merged into another tag" in response.content.decode()


def test_merchandisers_cannot_unmerge(client: Client, merchandiser: User, catalog: Catalog) -> None:
    navy, blue = catalog.tags["navy"], catalog.tags["blue"]
    taxonomy.merge_tags(navy, blue, user=None)
    client.force_login(merchandiser)

    response = client.post(reverse("annotation:taxonomy_unmerge", args=[navy.pk]), {"confirm": "1"})

    assert response.status_code == 403
    navy.refresh_from_db()
    assert navy.merged_into == blue


# -- rename ----------------------------------------------------------------------------


def test_a_rename_shows_the_new_name_on_every_page(admin_client: Client, catalog: Catalog) -> None:
    # given: Grey, with an English display name copied from its name
    grey = TagFactory(group=catalog.color, name="Grey", display_name_en="Grey")
    product = catalog.products[0]
    ProductTagFactory(product=product, tag=grey, source="human", decided_at=timezone.now())
    # when
    admin_client.post(
        reverse("annotation:taxonomy_rename", args=[grey.pk]), {"name": "Gray", "confirm": "1"}
    )
    # then: the review page's labels, the products table, the product page, the export
    labels = {v.key: v.label for v in review_state(product, catalog.version)}
    products_page = admin_client.get(reverse("annotation:products")).content.decode()
    product_page = admin_client.get(
        reverse("annotation:product", args=[product.pk])
    ).content.decode()
    export = admin_client.get(reverse("api:export"), {"format": "jsonl"})
    exported = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]

    assert labels["color:Gray"] == "Gray"
    assert ">Gray<" in products_page
    assert ">Grey<" not in products_page
    assert "Gray" in product_page
    assert "Grey<" not in product_page
    assert export.status_code == 200
    assert "color:Gray" in exported
    assert "color:Grey" not in exported


def test_a_rename_keeps_a_chinese_display_name(catalog: Catalog) -> None:
    grey = TagFactory(
        group=catalog.color, name="Grey", display_name_en="Grey", display_name_zh="灰色"
    )

    taxonomy.rename_tag(grey, "Gray", user=None)

    grey.refresh_from_db()
    assert (grey.name, grey.display_name_en, grey.display_name_zh) == ("Gray", "Gray", "灰色")
    assert grey.aliases == ["Grey"]


def test_a_model_trained_before_a_rename_still_finds_the_tag() -> None:
    color = TagGroupFactory(name="colour")
    grey = TagFactory(group=color, name="Grey")
    taxonomy.rename_tag(grey, "Gray", user=None)

    assert Tag.objects.current_ids(["colour:Grey", "colour:Gray"]) == {
        "colour:Grey": grey.pk,
        "colour:Gray": grey.pk,
    }

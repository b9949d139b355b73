"""Category-aware proposals on the pages: admins mark the category facet and
edit which facets apply within each category on the taxonomy pages; the review
panel says which facets apply to the product's category."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import CategoryFacet, Tag, TagGroup
from annotation.services.taxonomy import categories
from tests.annotation.ui_catalog import Catalog, build_catalog, compile_messages, enqueue, suggest
from tests.factories import ProductFactory, ProductTagFactory, TagFactory, TagGroupFactory

PO_FILE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module", autouse=True)
def _compiled_messages() -> None:
    compile_messages()


@pytest.fixture
def catalog(db: None) -> Catalog:
    return build_catalog(products=0)


@pytest.fixture
def bags(catalog: Catalog) -> Tag:
    """A category facet ("kind", marked) with the tag bags, which the active
    version learned to carry colours and no material."""
    kind = TagGroupFactory(
        name="kind", position=2, is_category=True, display_name_en="Kind", display_name_zh="品类"
    )
    bags = TagFactory(group=kind, name="bags", display_name_en="Bags", display_name_zh="包袋")
    catalog.version.category_schema = {
        "facet": "kind",
        "level": "facet",
        "allowed": {"kind:bags": ["color", "kind"]},
        "min_support": 5,
        "support": {"kind:bags": 7},
    }
    catalog.version.save(update_fields=["category_schema"])
    return bags


@pytest.mark.django_db
def test_an_admin_sees_the_learned_facets_of_a_category(
    client: Client, admin_user: User, bags: Tag
) -> None:
    client.force_login(admin_user)

    html = client.get(reverse("annotation:taxonomy_tag", args=[bags.pk])).content.decode()

    assert "Facets that apply in this category" in html
    assert "from 7 approved products" in html
    assert html.count("data-facet-rule=") == 2  # colour and material, not the category
    material_row = html.split('data-facet-rule="material"')[1].split("</tr>")[0]
    assert "not seen" in material_row
    assert "excluded" in material_row


@pytest.mark.django_db
def test_an_admin_override_changes_the_effective_schema(
    client: Client, admin_user: User, bags: Tag, catalog: Catalog
) -> None:
    client.force_login(admin_user)
    url = reverse("annotation:taxonomy_facets", args=[bags.pk])

    response = client.post(url, {"facet": catalog.material.pk, "rule": "allow"})

    assert response.status_code == 302
    row = CategoryFacet.objects.get(category=bags, facet=catalog.material)
    assert row.allowed
    assert row.updated_by == admin_user
    schema = categories.effective_schema(catalog.version.category_schema)
    assert schema is not None
    assert schema.allowed["kind:bags"] == {"color", "kind", "material"}

    client.post(url, {"facet": catalog.color.pk, "rule": "exclude"})
    client.post(url, {"facet": catalog.material.pk, "rule": "learned"})
    schema = categories.effective_schema(catalog.version.category_schema)
    assert schema is not None
    assert schema.allowed["kind:bags"] == {"kind"}


@pytest.mark.django_db
def test_a_tag_outside_the_category_facet_takes_no_rule(
    client: Client, admin_user: User, bags: Tag, catalog: Catalog
) -> None:
    client.force_login(admin_user)
    red = catalog.tags["red"]

    client.post(
        reverse("annotation:taxonomy_facets", args=[red.pk]),
        {"facet": catalog.material.pk, "rule": "exclude"},
    )

    assert not CategoryFacet.objects.exists()
    page = client.get(reverse("annotation:taxonomy_tag", args=[red.pk])).content.decode()
    assert "Facets that apply in this category" not in page


@pytest.mark.django_db
def test_an_admin_marks_the_category_facet(
    client: Client, admin_user: User, bags: Tag, catalog: Catalog
) -> None:
    client.force_login(admin_user)

    client.post(
        reverse("annotation:taxonomy_category_facet", args=[catalog.material.pk]), {"marked": "1"}
    )

    assert list(TagGroup.objects.filter(is_category=True)) == [catalog.material]
    html = client.get(reverse("annotation:taxonomy")).content.decode()
    assert "names the category" in html

    client.post(
        reverse("annotation:taxonomy_category_facet", args=[catalog.material.pk]), {"marked": ""}
    )
    assert not TagGroup.objects.filter(is_category=True).exists()
    assert categories.category_facet() is None


@pytest.mark.django_db
def test_non_admins_cannot_edit_category_facets(
    client: Client, merchandiser: User, bags: Tag, catalog: Catalog
) -> None:
    client.force_login(merchandiser)

    rule = client.post(
        reverse("annotation:taxonomy_facets", args=[bags.pk]),
        {"facet": catalog.material.pk, "rule": "allow"},
    )
    mark = client.post(
        reverse("annotation:taxonomy_category_facet", args=[catalog.material.pk]), {"marked": "1"}
    )

    assert rule.status_code == 403
    assert mark.status_code == 403
    assert not CategoryFacet.objects.exists()
    assert list(TagGroup.objects.filter(is_category=True)) == [bags.group]


def _queued_bag(catalog: Catalog, bags: Tag, approved: bool) -> None:
    product = ProductFactory(title="red leather bag")
    enqueue(product, priority=1.0)
    suggest(product, catalog.tags["red"], catalog.version, 0.9)
    if approved:
        ProductTagFactory(product=product, tag=bags)
    else:
        suggest(product, bags, catalog.version, 0.8)


@pytest.mark.django_db
@pytest.mark.parametrize("approved", [True, False])
def test_the_review_panel_shows_the_facets_that_apply(
    client: Client, merchandiser: User, bags: Tag, catalog: Catalog, approved: bool
) -> None:
    _queued_bag(catalog, bags, approved)
    client.force_login(merchandiser)

    html = client.get(reverse("annotation:review")).content.decode()

    assert "Category Bags: Colour apply." in html


@pytest.mark.django_db
def test_an_unsure_category_shows_no_facets_line(
    client: Client, merchandiser: User, bags: Tag, catalog: Catalog
) -> None:
    product = ProductFactory(title="red thing")
    enqueue(product, priority=1.0)
    suggest(product, bags, catalog.version, 0.3)
    client.force_login(merchandiser)

    html = client.get(reverse("annotation:review")).content.decode()

    assert "data-category-facets" not in html


@pytest.mark.django_db
def test_the_facets_line_speaks_chinese(
    client: Client, merchandiser: User, bags: Tag, catalog: Catalog
) -> None:
    _queued_bag(catalog, bags, approved=True)
    client.force_login(merchandiser)
    client.cookies["django_language"] = "zh-hans"

    html = client.get(reverse("annotation:review")).content.decode()

    assert "类目 包袋：适用的维度为 颜色。" in html


def test_the_new_strings_are_translated() -> None:
    with PO_FILE.open("rb") as f:
        catalog = read_po(f)
    for msgid in (
        "Facets that apply in this category",
        "Category %(category)s: %(facets)s apply.",
        "Category %(category)s: no other facet applies.",
        "Names the product's category",
        "Facets of %(category)s saved; the next scoring applies them.",
    ):
        message = catalog.get(msgid)
        assert message is not None, msgid
        assert message.string, msgid

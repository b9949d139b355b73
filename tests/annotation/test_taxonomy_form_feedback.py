"""A refused taxonomy form keeps what the admin typed and says what is wrong
by the field, in the UI's words and language: add a tag, add a facet, rename
(refused before the confirmation when the name is taken), aliases, merge. New
facet names follow one rule, in the page and in the admin."""

from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from annotation.errors import TaxonomyError
from annotation.models import Tag, TagGroup
from annotation.services import taxonomy
from tests.annotation.ui_catalog import Catalog, build_catalog
from tests.factories import TagFactory, TagGroupFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_messages")]


@pytest.fixture
def chinese_admin(admin_client: Client) -> Client:
    admin_client.cookies["django_language"] = "zh-hans"
    return admin_client


@pytest.fixture
def catalog() -> Catalog:
    return build_catalog(products=0)


def add_tag(client: Client, catalog: Catalog, **fields: str) -> str:
    data = {
        "tag-group": str(catalog.color.pk),
        "tag-name": "teal",
        "tag-aliases": "",
        "tag-description": "",
        **{f"tag-{k}": v for k, v in fields.items()},
    }
    return refused(client, reverse("annotation:taxonomy_add_tag"), data)


def refused(client: Client, url: str, data: dict[str, str]) -> str:
    """Post a form the page refuses; the page it shows again, with the errors."""
    response = client.post(url, data)
    assert response.status_code == 200, "a refused form is shown again, not redirected"
    return response.content.decode()


# -- add a tag, add a facet ----------------------------------------------------------------


def test_a_refused_new_tag_keeps_every_field_and_stays_open(
    admin_client: Client, catalog: Catalog
) -> None:
    html = add_tag(
        admin_client,
        catalog,
        name="x" * 500,
        aliases="aqua, cyan",
        description="A blue-green colour",
        display_name_zh="青色",
    )

    assert '<details class="card" open data-add-tag>' in html
    assert "x" * 500 in html
    assert "aqua, cyan" in html
    assert "A blue-green colour" in html
    assert "青色" in html
    # The error stands by the name field, not in a banner.
    assert 'id="id_tag-name"' in html
    assert html.index('id="id_tag-name"') < html.index("errorlist") < html.index("id_tag-display")
    assert 'class="messages' not in html
    assert not Tag.objects.filter(name__startswith="xxx").exists()


def test_a_duplicate_tag_is_refused_in_the_ui_words(
    admin_client: Client, chinese_admin: Client, catalog: Catalog
) -> None:
    admin_client.cookies.pop("django_language", None)
    english = add_tag(admin_client, catalog, name="RED", description="typed")

    assert "The facet Colour already has a tag named “red”." in english
    assert "Tag with this" not in english
    assert "typed" in english

    chinese_admin.cookies["django_language"] = "zh-hans"
    chinese = add_tag(chinese_admin, catalog, name="red")
    assert "维度 颜色 已有名为“red”的标签。" in chinese
    assert "Tag" not in chinese.split("errorlist", 1)[1].split("</ul>", 1)[0]
    assert Tag.objects.filter(group=catalog.color, name__iexact="red").count() == 1


def test_a_new_tag_whose_alias_leads_to_another_tag_is_refused_by_the_field(
    chinese_admin: Client, catalog: Catalog
) -> None:
    html = add_tag(chinese_admin, catalog, name="teal", aliases="crimson")

    assert "'crimson' 已经指向标签 'red'" in unescape(html)
    assert not Tag.objects.filter(name="teal").exists()


def test_a_refused_facet_keeps_what_was_typed_with_the_error_by_the_name(
    admin_client: Client, catalog: Catalog
) -> None:
    html = refused(
        admin_client,
        reverse("annotation:taxonomy_add_facet"),
        {"facet-name": "Color", "facet-display_name_zh": "颜色二", "facet-position": "7"},
    )

    assert '<details class="card" open data-add-facet>' in html
    assert "A facet named “color” already exists." in html
    assert "Tag group with this" not in html
    assert 'value="颜色二"' in html
    assert 'value="7"' in html
    assert TagGroup.objects.count() == 2


@pytest.mark.parametrize(
    "name", ["Bad Name With Spaces!!", "two  spaces", "-leading", "trailing/", "a:b", "名称。"]
)
def test_facet_names_with_punctuation_are_refused(admin_client: Client, name: str) -> None:
    html = refused(admin_client, reverse("annotation:taxonomy_add_facet"), {"facet-name": name})

    assert "is not a valid facet name" in html or ":" in name
    assert not TagGroup.objects.filter(name=name.strip()).exists()


@pytest.mark.parametrize(
    "name", ["usage", "sub_category", "ideal for", "precious/artificial jewellery", "一级类目"]
)
def test_facet_names_of_real_catalogues_are_accepted(admin_client: Client, name: str) -> None:
    response = admin_client.post(
        reverse("annotation:taxonomy_add_facet"), {"facet-name": name, "facet-position": "0"}
    )

    assert response.status_code == 302
    assert TagGroup.objects.filter(name=name).exists()


def test_the_facet_rule_reads_in_chinese(chinese_admin: Client) -> None:
    response = chinese_admin.post(
        reverse("annotation:taxonomy_add_facet"), {"facet-name": "Bad Name With Spaces!!"}
    )

    html = response.content.decode()
    assert "“Bad Name With Spaces!!”不是有效的维度名" in html
    assert "is not a valid facet name" not in html


def test_the_facet_name_rule() -> None:
    good = ["color", "x_y-z", "ideal for", "适用对象", "हिंदी नाम", "café", "size2"]
    bad = ["", " a", "a ", "a  b", "a__b", "a!", "a.b", "a:b", "_a", "a/", "a\tb", "😀"]
    assert [n for n in good if not taxonomy.is_facet_name(n)] == []
    assert [n for n in bad if taxonomy.is_facet_name(n)] == []


def test_the_admin_applies_the_facet_rule_to_new_names_only(client: Client) -> None:
    admin_client = client
    admin_client.force_login(UserFactory(username="root", superuser=True))
    legacy = TagGroupFactory(name="Legacy Name!")
    add = reverse("admin:annotation_taggroup_add")
    base = {
        "display_name_en": "",
        "display_name_zh": "",
        "description": "",
        "position": "0",
        "tags-TOTAL_FORMS": "0",
        "tags-INITIAL_FORMS": "0",
    }

    refused = admin_client.post(add, {**base, "name": "Bad Name!!"})
    assert "is not a valid facet name" in refused.content.decode()
    assert not TagGroup.objects.filter(name="Bad Name!!").exists()

    # A facet named before the rule keeps its name while other fields change.
    change = reverse("admin:annotation_taggroup_change", args=[legacy.pk])
    saved = admin_client.post(change, {**base, "name": "Legacy Name!", "position": "4"})
    assert saved.status_code == 302
    legacy.refresh_from_db()
    assert legacy.position == 4


# -- rename ------------------------------------------------------------------------------


def test_a_rename_to_a_taken_name_is_refused_before_the_confirmation(
    chinese_admin: Client, catalog: Catalog
) -> None:
    red = catalog.tags["red"]

    html = refused(
        chinese_admin, reverse("annotation:taxonomy_rename", args=[red.pk]), {"name": "Blue"}
    )

    assert "请确认" not in html  # not the confirmation page
    assert "维度 颜色 已有名为“blue”的标签；请改为合并这两个标签（见下方）。" in html
    assert "merge the two tags" not in html
    # What was typed stays; the merge form already names the other tag.
    assert 'name="name" value="Blue"' in html
    assert 'value="color:blue"' in html
    assert f'name="into_id" value="{catalog.tags["blue"].pk}"' in html
    red.refresh_from_db()
    assert red.name == "red"


def test_a_rename_to_the_same_name_is_refused(admin_client: Client, catalog: Catalog) -> None:
    red = catalog.tags["red"]

    response = admin_client.post(
        reverse("annotation:taxonomy_rename", args=[red.pk]), {"name": "red"}
    )

    assert "That is the tag&#x27;s name already." in response.content.decode()


def test_a_name_taken_between_the_two_steps_is_reported_by_the_field_in_chinese(
    chinese_admin: Client, catalog: Catalog
) -> None:
    red = catalog.tags["red"]
    url = reverse("annotation:taxonomy_rename", args=[red.pk])
    chinese_admin.post(url, {"name": "ruby"})
    TagFactory(group=catalog.color, name="Ruby")  # someone else, meanwhile

    html = refused(chinese_admin, url, {"name": "ruby", "confirm": "1"})

    assert "维度 颜色 已有名为“Ruby”的标签" in html
    assert 'name="name" value="ruby"' in html
    red.refresh_from_db()
    assert red.name == "red"


# -- aliases, merge ------------------------------------------------------------------------


def test_refused_aliases_keep_the_text_and_say_why_in_chinese(
    chinese_admin: Client, catalog: Catalog
) -> None:
    blue = catalog.tags["blue"]

    html = refused(
        chinese_admin,
        reverse("annotation:taxonomy_aliases", args=[blue.pk]),
        {"aliases": "azure, crimson"},
    )

    assert "azure, crimson</textarea>" in html
    assert "'crimson' 已经指向标签 'red'" in unescape(html)
    blue.refresh_from_db()
    assert blue.aliases == ["navy"]


def test_a_merge_refused_by_the_service_keeps_the_choice_and_says_why(
    chinese_admin: Client, catalog: Catalog
) -> None:
    red, blue = catalog.tags["red"], catalog.tags["blue"]
    TagFactory(group=catalog.color, name="old", status="deprecated", merged_into=blue)
    red.merged_into = blue  # a merge the form cannot see: the service refuses it
    red.save()

    html = refused(
        chinese_admin,
        reverse("annotation:taxonomy_merge", args=[red.pk]),
        {"into": "color:blue", "into_id": str(blue.pk)},
    )

    assert "color:red 已经合并到另一个标签" in html
    assert 'value="color:blue"' in html


def test_service_errors_stay_english_for_the_api_and_translate_for_pages(
    catalog: Catalog,
) -> None:
    red = catalog.tags["red"]
    with pytest.raises(TaxonomyError) as caught:
        taxonomy.rename_tag(red, "BLUE", user=None)

    english = "the facet already has a tag named 'blue'; merge the two tags instead"
    assert str(caught.value) == english
    with translation.override("zh-hans"):
        assert caught.value.localized() == "该维度已有名为 'blue' 的标签；请改为合并这两个标签"
    with translation.override("en"):
        assert caught.value.localized() == english

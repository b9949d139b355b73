"""The Django admin: taxonomy edits go through the taxonomy service, audit
rows are read-only, and every annotation page renders."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import (
    ProductTag,
    ReviewEvent,
    Tag,
    TagGroup,
)
from tests.factories import (
    ImportBatchFactory,
    ProductFactory,
    ProductTagFactory,
    ReviewEventFactory,
    TagFactory,
    TagGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    user = UserFactory(username="root", email="root@example.com", superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def color() -> TagGroup:
    return TagGroupFactory(name="color")


def test_every_annotation_changelist_renders(staff: Client, color: TagGroup) -> None:
    tag = TagFactory(group=color, name="Red")
    product = ProductFactory(external_id="p1", title="p1")
    ProductTagFactory(product=product, tag=tag)
    ReviewEventFactory(product=product, tag=tag, action="import", new_state="approved")
    ImportBatchFactory(source="a.csv", errors=[{"line": 2, "reason": "title is empty"}])
    models = [m for m in admin.site._registry if m._meta.app_label == "annotation"]

    for model in models:
        url = reverse(f"admin:annotation_{model._meta.model_name}_changelist")
        assert staff.get(url).status_code == 200, url
    assert len(models) == 13  # with the outbox (read-only, for operators)


def test_review_events_cannot_be_added_changed_or_deleted(staff: Client) -> None:
    model_admin = admin.site._registry[ReviewEvent]
    request = type("R", (), {"user": User.objects.get(username="root")})()

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert staff.get(reverse("admin:annotation_reviewevent_add")).status_code == 403


def test_the_import_batch_page_shows_its_errors(staff: Client) -> None:
    batch = ImportBatchFactory(
        source="a.csv", status="failed", errors=[{"line": 7, "reason": "title is empty"}]
    )

    response = staff.get(reverse("admin:annotation_importbatch_change", args=[batch.pk]))

    assert "<td>7</td><td>title is empty</td>" in response.content.decode()


def test_renaming_in_the_change_form_keeps_the_old_name_as_an_alias(
    staff: Client, color: TagGroup
) -> None:
    tag = TagFactory(group=color, name="Navy")
    url = reverse("admin:annotation_tag_change", args=[tag.pk])

    response = staff.post(
        url,
        {
            "name": "Navy Blue",
            "display_name_en": "",
            "display_name_zh": "",
            "aliases": "[]",
            "description": "",
        },
    )

    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.aliases) == ("Navy Blue", ["Navy"])


def test_the_change_form_refuses_another_tags_name(staff: Client, color: TagGroup) -> None:
    TagFactory(group=color, name="Blue")
    tag = TagFactory(group=color, name="Navy")
    url = reverse("admin:annotation_tag_change", args=[tag.pk])

    response = staff.post(url, {"name": "BLUE", "aliases": "[]"})

    assert response.status_code == 200
    assert "merge the two tags instead" in response.content.decode()
    tag.refresh_from_db()
    assert tag.name == "Navy"


def test_renaming_in_the_facet_inline_goes_through_the_service(
    staff: Client, color: TagGroup
) -> None:
    tag = TagFactory(group=color, name="Navy")
    url = reverse("admin:annotation_taggroup_change", args=[color.pk])
    prefix = "tags"

    response = staff.post(
        url,
        {
            "name": "color",
            "display_name_en": "",
            "display_name_zh": "",
            "description": "",
            "multi_valued": "on",
            "position": "0",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-0-id": str(tag.pk),
            f"{prefix}-0-group": str(color.pk),
            f"{prefix}-0-name": "Navy Blue",
            f"{prefix}-0-display_name_en": "",
            f"{prefix}-0-display_name_zh": "",
            f"{prefix}-0-aliases": "[]",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    tag.refresh_from_db()
    assert (tag.name, tag.aliases) == ("Navy Blue", ["Navy"])


def test_the_merge_action_confirms_with_the_affected_count_then_merges(
    staff: Client, color: TagGroup
) -> None:
    navy = TagFactory(group=color, name="Navy")
    teal = TagFactory(group=color, name="Teal")
    blue = TagFactory(group=color, name="Blue")
    for name in ("p1", "p2"):
        ProductTagFactory(product=ProductFactory(external_id=name, title=name), tag=navy)
    ProductTagFactory(product=ProductFactory(external_id="p3", title="p3"), tag=teal)
    url = reverse("admin:annotation_tag_changelist")
    selected = {"action": "merge_selected", "_selected_action": [navy.pk, teal.pk]}

    confirm = staff.post(url, selected)

    assert confirm.status_code == 200
    assert confirm.context["total"] == 3
    assert list(confirm.context["form"].fields["into"].queryset) == [blue]
    assert Tag.objects.filter(status="active").count() == 3

    done = staff.post(url, {**selected, "apply": "1", "into": blue.pk})

    assert done.status_code == 302
    assert ProductTag.objects.filter(tag=blue).count() == 3
    assert set(Tag.objects.filter(merged_into=blue).values_list("name", flat=True)) == {
        "Navy",
        "Teal",
    }


def test_the_merge_action_refuses_tags_of_two_facets(staff: Client, color: TagGroup) -> None:
    navy = TagFactory(group=color, name="Navy")
    large = TagFactory(group=TagGroupFactory(name="size"), name="Large")
    url = reverse("admin:annotation_tag_changelist")

    response = staff.post(
        url, {"action": "merge_selected", "_selected_action": [navy.pk, large.pk]}, follow=True
    )

    assert "Select tags of one facet" in response.content.decode()
    assert Tag.objects.filter(status="active").count() == 2


def test_the_deprecate_action_deprecates(staff: Client, color: TagGroup) -> None:
    navy = TagFactory(group=color, name="Navy")
    url = reverse("admin:annotation_tag_changelist")

    staff.post(url, {"action": "deprecate_selected", "_selected_action": [navy.pk]})

    navy.refresh_from_db()
    assert navy.status == Tag.Status.DEPRECATED


def test_editing_a_product_refreshes_its_text_and_forgets_the_import_fingerprint(
    staff: Client,
) -> None:
    product = ProductFactory(external_id="p1", title="p1")
    url = reverse("admin:annotation_product_change", args=[product.pk])

    response = staff.post(
        url,
        {
            "external_id": "p1",
            "title": "<b>Wool</b> scarf",
            "description": "Warm",
            "brand": "",
            "category_path": "",
            "attributes": "{}",
            "image_url": "",
            "language": "en",
            "product_tags-TOTAL_FORMS": "0",
            "product_tags-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert product.normalized_text == "Wool scarf Warm"
    assert product.content_hash == ""


def test_tags_can_be_found_by_alias(staff: Client, color: TagGroup) -> None:
    TagFactory(group=color, name="Navy", aliases=["marine"])
    TagFactory(group=color, name="Red")

    response = staff.get(reverse("admin:annotation_tag_changelist"), {"q": "MARINE"})

    assert [t.name for t in response.context["cl"].result_list] == ["Navy"]

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import ProductTag, ReviewEvent
from annotation.services.review import Decision, submit_review
from tests.annotation.ui_catalog import build_catalog, suggest
from tests.factories import ProductFactory, ProductTagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client: Client, merchandiser: User) -> Client:
    client.force_login(merchandiser)
    return client


def listed(client: Client, **params: object) -> list[str]:
    response = client.get(reverse("annotation:products"), params)
    assert response.status_code == 200
    return [p.external_id for p in response.context["rows"]]


def test_it_sends_anonymous_visitors_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("annotation:products"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_bulk_accept_sets_the_tag_on_every_selected_product(
    reviewer_client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=0, extra_products=6)
    chosen = catalog.products[:5]

    response = reviewer_client.post(
        reverse("annotation:products_bulk"),
        {"product": [p.pk for p in chosen], "tag": "material:silk", "decision": "accept"},
        follow=True,
    )

    silk = catalog.tags["silk"]
    approved = ProductTag.objects.filter(tag=silk, state="approved")
    assert sorted(approved.values_list("product_id", flat=True)) == [p.pk for p in chosen]
    assert (
        ReviewEvent.objects.filter(tag=silk, action="bulk_accept", user=merchandiser).count() == 5
    )
    assert "Accepted Silk on 5 of 5 selected products." in response.content.decode()


def test_bulk_reject_reports_how_many_products_changed(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=3)
    wool = catalog.tags["wool"]
    ProductTagFactory(
        product=catalog.products[0],
        tag=wool,
        state="rejected",
        source="human",
        decided_at=timezone.now(),
    )

    response = reviewer_client.post(
        reverse("annotation:products_bulk"),
        {"product": [p.pk for p in catalog.products], "tag": str(wool.pk), "decision": "reject"},
        follow=True,
    )

    assert "Rejected Wool on 2 of 3 selected products." in response.content.decode()
    assert ProductTag.objects.filter(tag=wool, state="rejected").count() == 3


def test_bulk_without_a_selection_changes_nothing(reviewer_client: Client) -> None:
    build_catalog(products=0, extra_products=2)

    response = reviewer_client.post(
        reverse("annotation:products_bulk"),
        {"tag": "material:silk", "decision": "accept"},
        follow=True,
    )

    assert "Select at least one product." in response.content.decode()
    assert not ProductTag.objects.exists()


def test_bulk_refuses_a_second_tag_in_a_single_valued_facet(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=2)
    target = catalog.products[0]
    ProductTagFactory(
        product=target,
        tag=catalog.tags["red"],
        state="approved",
        source="human",
        decided_at=timezone.now(),
    )

    response = reviewer_client.post(
        reverse("annotation:products_bulk"),
        {"product": [target.pk], "tag": "color:blue", "decision": "accept"},
        follow=True,
    )

    assert "Nothing changed" in response.content.decode()
    assert not ProductTag.objects.filter(tag=catalog.tags["blue"]).exists()


def test_bulk_goes_back_to_the_filtered_list_but_never_off_site(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=1)
    data = {"product": [catalog.products[0].pk], "tag": "material:silk", "decision": "accept"}

    inside = reviewer_client.post(
        reverse("annotation:products_bulk"), {**data, "next": "/products/?state=reviewed"}
    )
    outside = reviewer_client.post(
        reverse("annotation:products_bulk"), {**data, "next": "https://evil.example/"}
    )

    assert inside["Location"] == "/products/?state=reviewed"
    assert outside["Location"] == reverse("annotation:products")


def test_it_filters_by_suggested_tag_and_score_range(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=2)
    low = ProductFactory(external_id="LOW-1", title="Plain shirt")
    suggest(low, catalog.tags["silk"], catalog.version, 0.2)
    high = ProductFactory(external_id="HIGH-1", title="Silk shirt")
    suggest(high, catalog.tags["silk"], catalog.version, 0.7)

    # the most likely products first
    assert listed(reviewer_client, tag="material:silk") == ["HIGH-1", "LOW-1"]
    assert listed(reviewer_client, tag="material:silk", score_min="0.5") == ["HIGH-1"]
    assert listed(reviewer_client, score_max="0.25") == ["LOW-1"]
    assert listed(reviewer_client, facet=catalog.color.pk) == ["SKU-001", "SKU-002"]


def test_it_filters_by_review_state_and_approved_tag(
    reviewer_client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=0, extra_products=3)
    done = catalog.products[1]
    submit_review(merchandiser, done, [Decision(catalog.tags["wool"].pk, True)])

    assert listed(reviewer_client, state="reviewed") == ["SKU-002"]
    assert listed(reviewer_client, state="unreviewed") == ["SKU-001", "SKU-003"]
    assert listed(reviewer_client, has_tag="material:wool") == ["SKU-002"]


def test_it_searches_text_and_category(reviewer_client: Client) -> None:
    build_catalog(products=0, extra_products=1)
    ProductFactory(external_id="ZH-1", title="纯棉T恤 男款", category_path="服装 > T恤")
    ProductFactory(external_id="EN-1", title="Linen trousers", category_path="Apparel > Trousers")

    assert listed(reviewer_client, q="纯棉") == ["ZH-1"]
    assert listed(reviewer_client, q="linen") == ["EN-1"]
    assert listed(reviewer_client, category="trousers") == ["EN-1"]


def test_an_unknown_tag_in_the_filter_is_reported(reviewer_client: Client) -> None:
    build_catalog(products=0, extra_products=1)

    response = reviewer_client.get(reverse("annotation:products"), {"tag": "color:purple"})

    assert "No tag color:purple." in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"tag": "nope"},
        {"tag": "color:purple"},
        {"has_tag": "nope"},
        {"facet": "999999"},
        {"facet": "abc"},
        {"score_min": "abc"},
        {"score_max": "1.5"},
        {"score_min": "-0.1"},
        {"score_min": "0.8", "score_max": "0.2"},
        {"state": "bogus"},
        {"q": "x" * 201},
        {"category": "x" * 201},
        # one valid filter beside an invalid one lists nothing either
        {"state": "reviewed", "score_max": "nope"},
    ],
    ids=lambda params: ",".join(f"{k}={str(v)[:12]}" for k, v in params.items()),
)
def test_an_invalid_filter_lists_no_products_and_says_why(
    reviewer_client: Client, params: dict[str, str]
) -> None:
    build_catalog(products=0, extra_products=3)

    response = reviewer_client.get(reverse("annotation:products"), params)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["rows"] == []
    assert response.context["page"].paginator.count == 0
    page = response.content.decode()
    assert "data-invalid-filters" in page
    assert "SKU-001" not in page


def test_the_invalid_filter_message_is_in_chinese(reviewer_client: Client) -> None:
    build_catalog(products=0, extra_products=1)
    reviewer_client.cookies["django_language"] = "zh-hans"

    response = reviewer_client.get(reverse("annotation:products"), {"tag": "nope"})

    assert "筛选条件无效" in response.content.decode()


def test_a_valid_filter_still_lists_its_products(reviewer_client: Client) -> None:
    build_catalog(products=0, extra_products=2)

    response = reviewer_client.get(reverse("annotation:products"), {"state": "unreviewed", "q": ""})

    assert [p.external_id for p in response.context["rows"]] == ["SKU-001", "SKU-002"]
    assert "data-invalid-filters" not in response.content.decode()


def test_the_list_shows_the_chosen_tags_score_and_decision(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0, extra_products=1)

    response = reviewer_client.get(reverse("annotation:products"), {"tag": "color:red"})

    row = response.context["rows"][0]
    assert row.tag_score == pytest.approx(0.9)
    assert row.tag_state is None
    assert 'value="color:red"' in response.content.decode()  # the bulk tag is prefilled
    assert catalog.products[0].title in response.content.decode()


def test_the_product_page_shows_provenance_suggestions_and_audit(
    reviewer_client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=1)
    product = catalog.products[0]
    submit_review(merchandiser, product, [Decision(catalog.tags["red"].pk, True)])

    response = reviewer_client.get(reverse("annotation:product", args=[product.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    row = response.context["current"][0]
    assert (row.tag, row.decided_by, row.model_version) == (
        catalog.tags["red"],
        merchandiser,
        catalog.version,
    )
    assert row.score == pytest.approx(0.9)
    assert f"Model v{catalog.version.pk} (zero-shot)" in html
    assert "Accepted a suggestion" in html
    assert merchandiser.username in html

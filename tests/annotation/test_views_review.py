import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import ProductTag, QueueEntry, ReviewEvent, Tag
from tests.annotation.ui_catalog import build_catalog, enqueue, suggest
from tests.factories import ProductFactory, TagFactory

pytestmark = pytest.mark.django_db
Action = ReviewEvent.Action
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reviewer_client(client: Client, merchandiser: User) -> Client:
    client.force_login(merchandiser)
    return client


def submit(client: Client, product_id: int, shown: list[int], checked: list[int], **extra: str):
    return client.post(
        reverse("annotation:review_submit"),
        {"product": product_id, "shown": shown, "tag": checked},
        **extra,
    )


def test_it_sends_anonymous_visitors_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("annotation:review"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_refuses_users_without_a_review_role(client: Client, api_client_user: User) -> None:
    client.force_login(api_client_user)

    assert client.get(reverse("annotation:review")).status_code == 403
    assert client.get(reverse("annotation:tag_index")).status_code == 403


def test_it_shows_the_claimed_product_with_preselected_tags(reviewer_client: Client) -> None:
    catalog = build_catalog(products=2)
    first = catalog.products[0]

    response = reviewer_client.get(reverse("annotation:review"))

    html = response.content.decode()
    assert response.status_code == 200
    assert first.external_id in html
    red, cotton, wool = (catalog.tags[n].pk for n in ("red", "cotton", "wool"))
    assert f'value="{red}" id="tag-{red}" data-facet="color" data-single data-key="1"' in html
    assert f'id="tag-{cotton}" data-facet="material" data-key="2"' in html
    assert html.count(" checked>") == 2  # red and cotton, not wool (0.3 < 0.5)
    assert f'id="tag-{wool}" data-facet="material" data-key="3" aria-keyshortcuts="3">' in html
    assert "The model is unsure" in html


def test_a_reload_keeps_the_same_product(reviewer_client: Client) -> None:
    catalog = build_catalog(products=3)

    first = reviewer_client.get(reverse("annotation:review"))
    again = reviewer_client.get(reverse("annotation:review"))

    assert first.context["product"] == again.context["product"] == catalog.products[0]
    assert QueueEntry.objects.filter(leased_by__isnull=False).count() == 1


def test_submit_writes_decisions_and_events_and_shows_the_next_product(
    reviewer_client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=2)
    product = catalog.products[0]
    t = {name: tag.pk for name, tag in catalog.tags.items()}
    reviewer_client.get(reverse("annotation:review"))

    # red kept, cotton kept, wool left unchecked, silk added through the search
    response = submit(
        reviewer_client,
        product.pk,
        [t["red"], t["cotton"], t["wool"]],
        [t["red"], t["cotton"], t["silk"]],
        **HTMX,
    )

    assert response.status_code == 200
    assert response.context["product"] == catalog.products[1]
    assert 'hx-swap-oob="innerHTML"' in response.content.decode()
    states = dict(ProductTag.objects.filter(product=product).values_list("tag__name", "state"))
    assert states == {
        "red": "approved",
        "cotton": "approved",
        "wool": "rejected",
        "silk": "approved",
    }
    actions = dict(
        ReviewEvent.objects.filter(product=product, user=merchandiser).values_list(
            "tag__name", "action"
        )
    )
    assert actions == {
        "red": Action.ACCEPT,
        "cotton": Action.ACCEPT,
        "wool": Action.REJECT,
        "silk": Action.ADD,
    }
    product.refresh_from_db()
    assert product.reviewed_at is not None


def test_a_plain_form_post_is_redirected_back_to_the_review_page(reviewer_client: Client) -> None:
    catalog = build_catalog(products=1)
    red = catalog.tags["red"].pk

    response = submit(reviewer_client, catalog.products[0].pk, [red], [red])

    assert response.status_code == 302
    assert response["Location"] == reverse("annotation:review")
    assert ProductTag.objects.get(tag_id=red).state == "approved"
    # and the review page says so where htmx would have: in its status line
    page = reviewer_client.get(response["Location"]).content.decode()
    status = page.split('id="review-status"', 1)[1].split("</div>", 1)[0]
    assert '<span class="status-ok">Saved Red cotton shirt 1 with 1 tag.' in status
    assert 'class="messages"' not in page


def test_two_tags_of_a_single_valued_facet_are_refused_with_a_message(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=1)
    red, blue = catalog.tags["red"].pk, catalog.tags["blue"].pk
    reviewer_client.get(reverse("annotation:review"))

    response = submit(reviewer_client, catalog.products[0].pk, [red], [red, blue], **HTMX)

    assert response.status_code == 200
    assert "allows one tag per product" in response.content.decode()
    assert response.context["product"] == catalog.products[0]
    assert not ProductTag.objects.exists()


def test_a_malformed_submit_is_a_bad_request(reviewer_client: Client) -> None:
    response = reviewer_client.post(reverse("annotation:review_submit"), {"tag": ["x"]})

    assert response.status_code == 400
    # plain text: the review page shows it as it is, never as markup
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "The review form was incomplete; reload the page."


@pytest.mark.parametrize("action", ["annotation:review_submit", "annotation:review_skip"])
def test_a_product_deleted_while_on_screen_is_told_in_words_and_the_next_one_shows(
    reviewer_client: Client, action: str
) -> None:
    catalog = build_catalog(products=2)
    first, second = catalog.products
    red = catalog.tags["red"].pk
    reviewer_client.get(reverse("annotation:review"))
    first_pk = first.pk
    first.delete()

    response = reviewer_client.post(
        reverse(action), {"product": first_pk, "shown": [red], "tag": [red]}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["product"] == second
    assert (
        '<span class="status-error">That product no longer exists (it was deleted), '
        "so nothing was done with it.</span>"
    ) in html
    assert not ProductTag.objects.exists()


def test_a_plain_post_for_a_missing_product_comes_back_with_the_message(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=1)
    red = catalog.tags["red"].pk

    response = submit(reviewer_client, 999999, [red], [red])

    assert response.status_code == 302
    page = reviewer_client.get(response["Location"]).content.decode()
    assert '<span class="status-error">That product no longer exists' in page


def test_while_the_first_model_scores_the_page_says_so_in_one_voice(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=1)
    # The only version is active but has scored nothing yet.
    catalog.version.suggestions.all().delete()
    v = catalog.version.pk

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert f"Model v{v} is still scoring the catalogue and has not reached this product" in html
    assert f"Suggestions will come from model v{v} (zero-shot), which is still scoring" in html
    assert "No suggestions yet. Press / to add a tag." in html
    assert "No model is active yet" not in html
    assert "re-scoring" not in html
    assert "The model proposes no tag here" not in html


def test_before_any_model_exists_the_page_says_there_is_none(reviewer_client: Client) -> None:
    catalog = build_catalog(products=1)
    catalog.version.delete()

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert "No model is active yet: add the tags yourself." in html
    assert "data-rescoring" not in html


def test_hostile_product_text_is_escaped_even_inside_evidence(reviewer_client: Client) -> None:
    catalog = build_catalog(products=0)
    # Entity-encoded markup in a feed survives cleaning as literal text.
    title = "<script>alert(1)</script> Red <b>shirt</b>"
    description = "<img src=x onerror=alert(2)> cotton"
    product = ProductFactory(
        external_id="EVIL-1",
        title=title,
        description=description,
        normalized_text=f"{title} {description}",
    )
    # A span that starts before the script tag and ends inside it.
    suggest(product, catalog.tags["red"], catalog.version, 0.9, evidence=[(0, 20), (26, 29)])
    enqueue(product, priority=1.0)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert "<script>alert(1)" not in html
    assert "<b>shirt</b>" not in html
    assert "<img src=x" not in html
    red = catalog.tags["red"].pk
    assert (
        f'<mark data-tags="{red}">&lt;script&gt;alert(1)&lt;/sc</mark>ript&gt; '
        f'<mark data-tags="{red}">Red</mark> &lt;b&gt;shirt&lt;/b&gt;'
    ) in html


def test_the_title_keeps_its_text_when_it_is_not_the_start_of_the_model_text(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=0)
    product = ProductFactory(
        external_id="X-1", title="Shirt", normalized_text="something else entirely"
    )
    enqueue(product, priority=1.0)
    suggest(product, catalog.tags["red"], catalog.version, 0.9, evidence=[(0, 9)])

    response = reviewer_client.get(reverse("annotation:review"))

    html = response.content.decode()
    assert ">Shirt</h1>" in html
    assert f'<mark data-tags="{catalog.tags["red"].pk}">something</mark> else' in html


def test_skip_records_the_skip_and_serves_the_next_product(
    reviewer_client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=2)
    first = catalog.products[0]
    reviewer_client.get(reverse("annotation:review"))

    response = reviewer_client.post(
        reverse("annotation:review_skip"), {"product": first.pk}, **HTMX
    )

    assert response.context["product"] == catalog.products[1]
    assert ReviewEvent.objects.filter(product=first, action=Action.SKIP, user=merchandiser).exists()


def test_undo_reverts_the_last_submit_and_brings_its_product_back(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=2)
    first, second = catalog.products
    red = catalog.tags["red"].pk
    reviewer_client.get(reverse("annotation:review"))
    submit(reviewer_client, first.pk, [red], [red], **HTMX)

    response = reviewer_client.post(
        reverse("annotation:review_undo"), {"product": second.pk}, **HTMX
    )

    assert response.context["product"] == first
    assert not ProductTag.objects.filter(product=first).exists()
    assert ReviewEvent.objects.filter(product=first, action=Action.UNDO).count() == 1
    # The product that was on screen went back to the queue for anyone.
    assert QueueEntry.objects.get(product=second).leased_by is None


def test_undo_with_nothing_to_undo_says_so(reviewer_client: Client) -> None:
    build_catalog(products=1)

    response = reviewer_client.post(reverse("annotation:review_undo"), {}, **HTMX)

    assert "Nothing to undo." in response.content.decode()


def test_an_empty_queue_shows_the_all_done_state(reviewer_client: Client) -> None:
    build_catalog(products=0)

    response = reviewer_client.get(reverse("annotation:review"))

    assert response.context["product"] is None
    assert "All done for now" in response.content.decode()


def test_the_tag_index_lists_active_tags_with_aliases_and_chinese_names(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=0)
    old = TagFactory(group=catalog.color, name="old", status=Tag.Status.DEPRECATED)

    response = reviewer_client.get(reverse("annotation:tag_index"))

    data = json.loads(response.content)
    by_name = {row[2]: row for row in data["tags"]}
    assert by_name["red"][4] == "红色"
    assert by_name["red"][5] == ["crimson", "scarlet"]
    assert by_name["red"][1] == catalog.color.pk
    assert old.name not in by_name
    assert [catalog.color.pk, "color", "Colour", "颜色", False] in data["groups"]
    assert "max-age" in response["Cache-Control"]


def test_the_tag_index_answers_304_when_unchanged(reviewer_client: Client) -> None:
    build_catalog(products=0)
    etag = reviewer_client.get(reverse("annotation:tag_index"))["ETag"]

    response = reviewer_client.get(reverse("annotation:tag_index"), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_the_review_page_sends_no_inline_script_or_style(reviewer_client: Client) -> None:
    build_catalog(products=1)

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert "style=" not in html
    assert "<script>" not in html
    assert " on" + "click=" not in html


def test_low_scored_candidates_stay_off_the_page_and_out_of_the_decisions(
    reviewer_client: Client,
) -> None:
    catalog = build_catalog(products=1)
    product = catalog.products[0]
    t = catalog.tags
    # Material's runners-up after cotton (selected): wool 0.3, silk, linen, hemp,
    # then jute, a fifth, which the page leaves off; blue is colour's runner-up.
    suggest(product, t["silk"], catalog.version, 0.2)
    suggest(product, t["blue"], catalog.version, 0.05)
    for name, score in [("linen", 0.1), ("hemp", 0.08), ("jute", 0.06)]:
        t[name] = TagFactory(group=catalog.material, name=name)
        suggest(product, t[name], catalog.version, score)

    response = reviewer_client.get(reverse("annotation:review"))

    html = response.content.decode()
    shown = [t.tag_id for block in response.context["blocks"] for t in block.tags]
    assert shown == [
        *(t["red"].pk, t["blue"].pk),
        *(t[name].pk for name in ("cotton", "wool", "silk", "linen", "hemp")),
    ]
    assert f'name="shown" value="{t["jute"].pk}"' not in html
    assert "1 lower-scored candidate is not listed" in html


def test_the_queue_strategy_shows_in_words_and_its_priority_only_on_hover(
    reviewer_client: Client,
) -> None:
    from django.utils import timezone

    catalog = build_catalog(products=1)
    QueueEntry.objects.filter(product=catalog.products[0]).update(
        ranked_at=timezone.now(), priority=388.97312
    )

    html = reviewer_client.get(reverse("annotation:review")).content.decode()

    assert 'title="priority 388.973">strategy most uncertain first</span>' in html
    assert ">priority 388.973<" not in html
    assert "uncertainty" not in html

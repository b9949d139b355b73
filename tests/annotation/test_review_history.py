"""Undo that keeps the reviewer's work (issue #13): the history of the last
submits, reopening any of them, and the reopened page showing their own
decisions instead of the model's pre-ticks."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import ProductTag, ReviewEvent
from annotation.services.review import (
    Decision,
    recent_submissions,
    submit_review,
    submitted_decisions,
    undo_submission,
)
from tests.annotation.ui_catalog import build_catalog
from tests.factories import ProductFactory, TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_history_lists_the_last_ten_submits_newest_first(merchandiser: User) -> None:
    catalog = build_catalog(products=12)
    red = catalog.tags["red"]
    for product in catalog.products:
        submit_review(merchandiser, product, [Decision(red.pk, True)])

    history = recent_submissions(merchandiser)

    assert len(history) == 10
    assert [h.product_id for h in history] == [p.pk for p in reversed(catalog.products)][:10]
    assert all(h.approved == 1 and not h.undone for h in history)


def test_history_reads_past_pages_of_a_long_history(merchandiser: User) -> None:
    """Wide submits (30 tags each) put the tenth one beyond the first page of
    events the history reads; it still lists exactly the ten newest, whole."""
    products = ProductFactory.create_batch(12)
    group = TagGroupFactory(name="style")
    tags = TagFactory.create_batch(30, group=group)
    submissions = []
    for product in products:
        submission = uuid.uuid4()
        submissions.append(submission)
        ReviewEvent.objects.bulk_create(
            ReviewEvent(
                user=merchandiser,
                product=product,
                tag=tag,
                action=ReviewEvent.Action.ACCEPT if i < 3 else ReviewEvent.Action.REJECT,
                previous_state="",
                new_state=ProductTag.State.APPROVED if i < 3 else ProductTag.State.REJECTED,
                submission=submission,
            )
            for i, tag in enumerate(tags)
        )

    history = recent_submissions(merchandiser)

    assert [h.submission for h in history] == submissions[::-1][:10]
    assert [h.title for h in history] == [p.title for p in products[::-1][:10]]
    assert all(h.approved == 3 for h in history)


def test_an_earlier_submit_can_be_undone_and_its_decisions_read(merchandiser: User) -> None:
    catalog = build_catalog(products=2)
    first, second = catalog.products
    red, wool = catalog.tags["red"], catalog.tags["wool"]
    earlier = submit_review(merchandiser, first, [Decision(red.pk, False), Decision(wool.pk, True)])
    submit_review(merchandiser, second, [Decision(red.pk, True)])

    result = undo_submission(merchandiser, earlier.submission)

    assert result is not None
    assert result.product == first
    assert not ProductTag.objects.filter(product=first).exists()
    assert ProductTag.objects.filter(product=second).count() == 1
    assert submitted_decisions(earlier.submission) == (first.pk, {red.pk: False, wool.pk: True})
    assert recent_submissions(merchandiser)[1].undone
    assert undo_submission(merchandiser, earlier.submission) is None  # once only


def test_someone_elses_submit_cannot_be_undone(merchandiser: User, make_user) -> None:  # type: ignore[no-untyped-def]
    catalog = build_catalog(products=1)
    other = make_user("otto", "merchandiser")
    theirs = submit_review(other, catalog.products[0], [Decision(catalog.tags["red"].pk, True)])

    assert undo_submission(merchandiser, theirs.submission) is None


def test_the_reopened_page_shows_the_reviewers_own_decisions(
    client: Client, merchandiser: User
) -> None:
    catalog = build_catalog(products=2)
    first = catalog.products[0]
    red, cotton, wool, silk = (catalog.tags[n] for n in ("red", "cotton", "wool", "silk"))
    client.force_login(merchandiser)
    client.get(reverse("annotation:review"))
    client.post(
        reverse("annotation:review_submit"),
        {"product": first.pk, "shown": [red.pk, cotton.pk, wool.pk], "tag": [red.pk, silk.pk]},
        **HTMX,
    )

    # The page posts the product on screen (the next one), which goes back to the queue.
    on_screen = catalog.products[1].pk
    html = client.post(
        reverse("annotation:review_undo"), {"product": on_screen}, **HTMX
    ).content.decode()

    assert "Reopened with your own decisions" in html
    assert f'value="{red.pk}" id="tag-{red.pk}" data-facet="color" data-single data-key="1"' in html
    assert (
        f'id="tag-{red.pk}" data-facet="color" data-single data-key="1" aria-keyshortcuts="1" checked>'
        in html
    )
    assert f'id="tag-{cotton.pk}" data-facet="material" data-key="2" aria-keyshortcuts="2">' in html
    # silk was added through the search: it comes back in "Added by you", checked
    assert f'id="tag-{silk.pk}" data-facet="material" checked>' in html
    # the draft is used once: a reload shows the model's pre-ticks again
    html = client.get(reverse("annotation:review")).content.decode()
    assert "Reopened with your own decisions" not in html


def test_a_malformed_submission_id_undoes_nothing(client: Client, merchandiser: User) -> None:
    catalog = build_catalog(products=1)
    submit_review(merchandiser, catalog.products[0], [Decision(catalog.tags["red"].pk, True)])
    client.force_login(merchandiser)

    html = client.post(
        reverse("annotation:review_undo"), {"submission": "not-a-uuid"}, **HTMX
    ).content.decode()

    assert "Nothing to undo" in html
    assert ProductTag.objects.filter(product=catalog.products[0]).exists()


# -- the list kept per reviewer (committed transactions, as in production) ------------


@pytest.mark.django_db(transaction=True)
def test_a_submit_puts_itself_on_the_kept_list(
    merchandiser: User, django_assert_num_queries
) -> None:
    from django.core.cache import cache

    cache.clear()
    catalog = build_catalog(products=3)
    red = catalog.tags["red"]
    first, second, third = catalog.products
    submit_review(merchandiser, first, [Decision(red.pk, True)])
    assert [h.product_id for h in recent_submissions(merchandiser)] == [first.pk]  # read, kept
    submit_review(merchandiser, second, [Decision(red.pk, False)])

    with django_assert_num_queries(0):  # the submit updated the kept list itself
        history = recent_submissions(merchandiser)

    assert [(h.product_id, h.approved, h.undone) for h in history] == [
        (second.pk, 0, False),
        (first.pk, 1, False),
    ]
    # What the events say, read afresh, is the same list.
    cache.clear()
    assert recent_submissions(merchandiser) == history

    undo_submission(merchandiser, history[0].submission)
    assert [h.undone for h in recent_submissions(merchandiser)] == [True, False]
    submit_review(merchandiser, third, [Decision(red.pk, True)])
    assert [h.product_id for h in recent_submissions(merchandiser)][:2] == [third.pk, second.pk]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_submit_leaves_no_trace_in_the_list(merchandiser: User) -> None:
    from django.core.cache import cache
    from django.db import transaction

    cache.clear()
    catalog = build_catalog(products=2)
    red = catalog.tags["red"]
    submit_review(merchandiser, catalog.products[0], [Decision(red.pk, True)])
    recent_submissions(merchandiser)

    def submit_then_fail() -> None:
        with transaction.atomic():
            submit_review(merchandiser, catalog.products[1], [Decision(red.pk, True)])
            assert len(recent_submissions(merchandiser)) == 2  # its own transaction sees it
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        submit_then_fail()
    assert [h.product_id for h in recent_submissions(merchandiser)] == [catalog.products[0].pk]


@pytest.mark.django_db(transaction=True)
def test_without_a_cache_answer_the_events_are_read(
    merchandiser: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from annotation.services.review import history as history_module

    catalog = build_catalog(products=1)
    red = catalog.tags["red"]

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(history_module.cache, "get", down)
    monkeypatch.setattr(history_module.cache, "incr", down)
    submit_review(merchandiser, catalog.products[0], [Decision(red.pk, True)])
    assert [h.product_id for h in recent_submissions(merchandiser)] == [catalog.products[0].pk]


@pytest.mark.django_db(transaction=True)
def test_a_submit_the_cache_missed_still_moves_the_counter_at_commit(
    merchandiser: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache fails while the submit writes and answers again by its commit:
    the list kept before it must not pass for the list after it."""
    from django.core.cache import cache

    from annotation.services.review import history as history_module

    cache.clear()
    catalog = build_catalog(products=2)
    red = catalog.tags["red"]
    submit_review(merchandiser, catalog.products[0], [Decision(red.pk, True)])
    recent_submissions(merchandiser)  # kept
    real_incr = cache.incr
    calls = {"n": 0}

    def flaky_incr(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("cache down for a moment")
        return real_incr(*args, **kwargs)

    monkeypatch.setattr(history_module.cache, "incr", flaky_incr)
    submit_review(merchandiser, catalog.products[1], [Decision(red.pk, True)])
    assert [h.product_id for h in recent_submissions(merchandiser)] == [
        catalog.products[1].pk,
        catalog.products[0].pk,
    ]

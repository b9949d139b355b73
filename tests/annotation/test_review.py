from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from annotation import roles
from annotation.errors import ReviewError
from annotation.models import (
    Product,
    ProductTag,
    QueueEntry,
    ReviewEvent,
    Suggestion,
    Tag,
)
from annotation.services import queue, review
from annotation.services.review import Decision, bulk_set_tag, submit_review, undo_last_submission
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)

pytestmark = pytest.mark.django_db
Action = ReviewEvent.Action


class Catalog:
    """A product, two facets and an active model that scored the product."""

    def __init__(self) -> None:
        color = TagGroupFactory(name="color", multi_valued=False, position=0)
        material = TagGroupFactory(name="material", position=1)
        self.red = TagFactory(group=color, name="red")
        self.blue = TagFactory(group=color, name="blue")
        self.cotton = TagFactory(group=material, name="cotton")
        self.wool = TagFactory(group=material, name="wool")
        self.linen = TagFactory(group=material, name="linen")
        self.version = ModelVersionFactory(mode="head", status="active", base_model="tiny")
        self.product = ProductFactory(external_id="shirt", title="Red shirt", queued=True)
        self.suggest(self.product, self.red, 0.9, selected=True, evidence=[[0, 3]])
        self.suggest(self.product, self.cotton, 0.4, selected=False)
        self.suggest(self.product, self.wool, 0.7, selected=True)

    def suggest(
        self,
        product: Product,
        tag: Tag,
        score: float,
        *,
        selected: bool,
        evidence: list | None = None,
    ) -> Suggestion:
        return SuggestionFactory(
            product=product,
            tag=tag,
            model_version=self.version,
            score=score,
            selected=selected,
            evidence=evidence or [],
        )


def set_state(product: Product, tag: Tag, state: str, **fields: object) -> ProductTag:
    fields.setdefault("decided_at", timezone.now() - timedelta(days=3))
    return ProductTagFactory(product=product, tag=tag, state=state, **fields)


def needs_two_reviews(product: Product) -> None:
    """An overlap product: two people review it (one review alone would leave
    the second person's submit refused, the product being done)."""
    QueueEntry.objects.filter(product=product).update(reviews_needed=2)


def states(product: Product) -> dict[str, str]:
    return {
        row.tag.name: row.state
        for row in ProductTag.objects.filter(product=product).select_related("tag")
    }


@pytest.fixture
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture
def reviewer(make_user: Callable[..., User]) -> User:
    return make_user("rita", roles.MERCHANDISER)


@pytest.fixture
def other_reviewer(make_user: Callable[..., User]) -> User:
    return make_user("omar", roles.MERCHANDISER)


def test_submit_writes_tags_and_one_event_per_decision(catalog: Catalog, reviewer: User) -> None:
    # given: linen was approved by an import
    set_state(catalog.product, catalog.linen, "approved")
    # when
    result = submit_review(
        reviewer,
        catalog.product,
        [
            Decision(catalog.red.pk, True),  # suggested and selected
            Decision(catalog.cotton.pk, True),  # scored below its threshold
            Decision(catalog.wool.pk, False),  # suggested, turned down
            Decision(catalog.linen.pk, False),  # was approved
        ],
        note="looks red",
    )
    # then
    assert states(catalog.product) == {
        "red": "approved",
        "cotton": "approved",
        "wool": "rejected",
        "linen": "rejected",
    }
    red = ProductTag.objects.get(product=catalog.product, tag=catalog.red)
    assert (red.source, red.decided_by, red.model_version, red.score) == (
        "human",
        reviewer,
        catalog.version,
        0.9,
    )
    linen = ProductTag.objects.get(product=catalog.product, tag=catalog.linen)
    assert (linen.model_version, linen.score) == (None, None)
    events = {e.tag.name: e for e in ReviewEvent.objects.filter(submission=result.submission)}
    assert {name: e.action for name, e in events.items()} == {
        "red": Action.ACCEPT,
        "cotton": Action.ADD,
        "wool": Action.REJECT,
        "linen": Action.REMOVE,
    }
    assert (events["linen"].previous_state, events["linen"].new_state) == ("approved", "rejected")
    assert (events["red"].previous_state, events["red"].new_state) == ("", "approved")
    assert events["cotton"].score == 0.4
    assert {e.model_version_id for e in events.values()} == {catalog.version.pk}
    assert {e.note for e in events.values()} == {"looks red"}
    assert len(result.events) == 4


def test_submit_marks_the_product_reviewed_and_completes_its_entry(
    catalog: Catalog, reviewer: User
) -> None:
    queue.claim_next(reviewer)

    submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])

    catalog.product.refresh_from_db()
    entry = QueueEntry.objects.get(product=catalog.product)
    assert catalog.product.reviewed_at is not None
    assert entry.completed_at is not None
    assert entry.leased_by is None


def test_submit_bumps_the_products_tag_change_time(catalog: Catalog, reviewer: User) -> None:
    submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])

    catalog.product.refresh_from_db()
    assert catalog.product.tags_updated_at is not None


def test_a_confirmed_decision_is_recorded_without_rewriting_the_tag(
    catalog: Catalog, reviewer: User
) -> None:
    before = set_state(catalog.product, catalog.linen, "approved")

    result = submit_review(reviewer, catalog.product, [Decision(catalog.linen.pk, True)])

    after = ProductTag.objects.get(pk=before.pk)
    assert (after.source, after.decided_by, after.decided_at) == ("import", None, before.decided_at)
    [event] = result.events
    assert (event.action, event.previous_state, event.new_state) == (
        Action.ACCEPT,
        "approved",
        "approved",
    )


def test_tags_not_mentioned_keep_their_state(catalog: Catalog, reviewer: User) -> None:
    set_state(catalog.product, catalog.linen, "approved")

    submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])

    assert states(catalog.product) == {"red": "approved", "linen": "approved"}


def test_approving_a_tag_the_reviewer_rejected_before_counts_as_an_add(
    catalog: Catalog, reviewer: User
) -> None:
    set_state(catalog.product, catalog.red, "rejected")

    result = submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])

    assert [e.action for e in result.events] == [Action.ADD]


def test_a_failing_decision_midway_writes_nothing(
    catalog: Catalog, reviewer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the database refuses the last write, after the events and tags
    calls = []

    def failing_complete(*args: object, **kwargs: object) -> None:
        calls.append(ProductTag.objects.count())
        raise RuntimeError("disk full")

    monkeypatch.setattr(queue, "complete", failing_complete)
    # when
    with pytest.raises(RuntimeError, match="disk full"):
        submit_review(
            reviewer,
            catalog.product,
            [Decision(catalog.red.pk, True), Decision(catalog.cotton.pk, True)],
        )
    # then: both tags had been written inside the transaction, and none is left
    catalog.product.refresh_from_db()
    assert calls == [2]
    assert not ProductTag.objects.exists()
    assert not ReviewEvent.objects.exists()
    assert catalog.product.reviewed_at is None
    assert QueueEntry.objects.get(product=catalog.product).reviews_done == 0


def test_an_unknown_tag_id_is_refused_naming_it(catalog: Catalog, reviewer: User) -> None:
    with pytest.raises(ReviewError, match="unknown tag id 98765"):
        submit_review(
            reviewer, catalog.product, [Decision(catalog.red.pk, True), Decision(98765, True)]
        )

    assert not ProductTag.objects.exists()


def test_a_decision_about_a_merged_tag_applies_to_its_target(
    catalog: Catalog, reviewer: User
) -> None:
    scarlet = TagFactory(
        group=catalog.red.group, name="scarlet", status="deprecated", merged_into=catalog.red
    )

    result = submit_review(reviewer, catalog.product, [Decision(scarlet.pk, True)])

    assert states(catalog.product) == {"red": "approved"}
    assert [e.tag_id for e in result.events] == [catalog.red.pk]


def test_a_deprecated_tag_that_was_not_merged_is_refused(catalog: Catalog, reviewer: User) -> None:
    old = TagFactory(group=catalog.red.group, name="old", status="deprecated")

    with pytest.raises(ReviewError, match="deprecated"):
        submit_review(reviewer, catalog.product, [Decision(old.pk, True)])


def test_two_approved_tags_of_a_single_valued_facet_are_refused(
    catalog: Catalog, reviewer: User
) -> None:
    with pytest.raises(ReviewError, match="'color'"):
        submit_review(
            reviewer,
            catalog.product,
            [Decision(catalog.red.pk, True), Decision(catalog.blue.pk, True)],
        )

    assert not ProductTag.objects.exists()
    assert not ReviewEvent.objects.exists()


def test_approving_a_second_tag_of_a_single_valued_facet_needs_the_first_rejected(
    catalog: Catalog, reviewer: User
) -> None:
    set_state(catalog.product, catalog.blue, "approved")

    with pytest.raises(ReviewError, match="'color'"):
        submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])
    submit_review(
        reviewer,
        catalog.product,
        [Decision(catalog.red.pk, True), Decision(catalog.blue.pk, False)],
    )

    assert states(catalog.product) == {"red": "approved", "blue": "rejected"}


def test_several_tags_of_a_multi_valued_facet_are_fine(catalog: Catalog, reviewer: User) -> None:
    submit_review(
        reviewer,
        catalog.product,
        [Decision(catalog.cotton.pk, True), Decision(catalog.wool.pk, True)],
    )

    assert states(catalog.product) == {"cotton": "approved", "wool": "approved"}


def test_undo_restores_every_tag_exactly(
    catalog: Catalog, reviewer: User, other_reviewer: User
) -> None:
    # given: an earlier review by someone else, then this reviewer's submission
    needs_two_reviews(catalog.product)
    submit_review(
        other_reviewer,
        catalog.product,
        [Decision(catalog.red.pk, True), Decision(catalog.wool.pk, False)],
    )
    before = {
        row.tag_id: (
            row.state,
            row.source,
            row.decided_by_id,
            row.decided_at,
            row.model_version_id,
            row.score,
        )
        for row in ProductTag.objects.filter(product=catalog.product)
    }
    reviewed_at = Product.objects.get(pk=catalog.product.pk).reviewed_at
    submission = submit_review(
        reviewer,
        catalog.product,
        [
            Decision(catalog.red.pk, False),
            Decision(catalog.wool.pk, True),
            Decision(catalog.cotton.pk, True),
        ],
    ).submission
    # when
    result = undo_last_submission(reviewer)
    # then
    assert result is not None
    assert result.submission == submission
    after = {
        row.tag_id: (
            row.state,
            row.source,
            row.decided_by_id,
            row.decided_at,
            row.model_version_id,
            row.score,
        )
        for row in ProductTag.objects.filter(product=catalog.product)
    }
    assert after == before  # cotton's row, created by the undone submission, is gone
    assert sorted((e.tag.name, e.action, e.previous_state, e.new_state) for e in result.events) == [
        ("cotton", Action.UNDO, "approved", ""),
        ("red", Action.UNDO, "rejected", "approved"),
        ("wool", Action.UNDO, "approved", "rejected"),
    ]
    assert Product.objects.get(pk=catalog.product.pk).reviewed_at == reviewed_at


def test_undo_puts_the_product_back_in_the_reviewers_hands(
    catalog: Catalog, reviewer: User, other_reviewer: User
) -> None:
    queue.claim_next(reviewer)
    submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])

    undo_last_submission(reviewer)

    entry = QueueEntry.objects.get(product=catalog.product)
    catalog.product.refresh_from_db()
    assert entry.completed_at is None
    assert entry.reviews_done == 0
    assert entry.leased_by == reviewer
    assert catalog.product.reviewed_at is None
    assert states(catalog.product) == {}
    assert queue.claim_next(other_reviewer) is None
    reclaimed = queue.claim_next(reviewer)
    assert reclaimed is not None
    assert reclaimed.product_id == catalog.product.pk


def test_undo_walks_back_one_submission_at_a_time(catalog: Catalog, reviewer: User) -> None:
    needs_two_reviews(catalog.product)  # so it is still open for a second submit
    first = submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, True)])
    second = submit_review(reviewer, catalog.product, [Decision(catalog.red.pk, False)])

    undone_second = undo_last_submission(reviewer)
    state_between = states(catalog.product)
    undone_first = undo_last_submission(reviewer)

    assert undone_second is not None
    assert undone_second.submission == second.submission
    assert state_between == {"red": "approved"}
    assert undone_first is not None
    assert undone_first.submission == first.submission
    assert states(catalog.product) == {}
    assert undo_last_submission(reviewer) is None


def test_undo_keeps_a_decision_someone_made_since(
    catalog: Catalog, reviewer: User, other_reviewer: User
) -> None:
    needs_two_reviews(catalog.product)
    submit_review(reviewer, catalog.product, [Decision(catalog.cotton.pk, True)])
    submit_review(other_reviewer, catalog.product, [Decision(catalog.cotton.pk, False)])

    result = undo_last_submission(reviewer)

    assert result is not None
    assert states(catalog.product) == {"cotton": "rejected"}
    [event] = result.events
    assert (event.previous_state, event.new_state) == ("rejected", "rejected")


def test_undo_with_nothing_to_undo_returns_none(reviewer: User) -> None:
    assert undo_last_submission(reviewer) is None


def test_bulk_set_tag_changes_every_product_not_already_in_that_state(
    catalog: Catalog, reviewer: User
) -> None:
    # given: five products, one already approved for cotton, one rejected
    products = ProductFactory.create_batch(5, queued=True)
    set_state(products[0], catalog.cotton, "approved")
    set_state(products[1], catalog.cotton, "rejected")
    catalog.suggest(products[2], catalog.cotton, 0.3, selected=False)
    # when
    changed = bulk_set_tag(reviewer, [p.pk for p in products], catalog.cotton, True)
    # then
    assert changed == 4
    assert all(states(p) == {"cotton": "approved"} for p in products)
    events = ReviewEvent.objects.filter(action=Action.BULK_ACCEPT)
    assert events.count() == 4
    assert len(set(events.values_list("submission", flat=True))) == 1
    assert events.get(product=products[1]).previous_state == "rejected"
    assert events.get(product=products[2]).score == 0.3
    flipped = ProductTag.objects.get(product=products[1], tag=catalog.cotton)
    assert (flipped.source, flipped.decided_by) == ("human", reviewer)
    untouched = ProductTag.objects.get(product=products[0], tag=catalog.cotton)
    assert untouched.source == "import"
    assert not Product.objects.filter(pk__in=[p.pk for p in products], reviewed_at__isnull=False)


def test_bulk_reject_writes_bulk_reject_events(catalog: Catalog, reviewer: User) -> None:
    products = ProductFactory.create_batch(2, queued=True)

    changed = bulk_set_tag(reviewer, [p.pk for p in products], catalog.wool, False)

    assert changed == 2
    assert set(ReviewEvent.objects.values_list("action", flat=True)) == {Action.BULK_REJECT}


def test_bulk_approval_refuses_a_second_tag_of_a_single_valued_facet(
    catalog: Catalog, reviewer: User
) -> None:
    products = ProductFactory.create_batch(2, queued=True)
    set_state(products[1], catalog.blue, "approved")

    with pytest.raises(ReviewError, match="'color'"):
        bulk_set_tag(reviewer, [p.pk for p in products], catalog.red, True)

    assert not ProductTag.objects.filter(tag=catalog.red).exists()


def test_bulk_set_tag_refuses_unknown_products(catalog: Catalog, reviewer: User) -> None:
    with pytest.raises(ReviewError, match="unknown product ids"):
        bulk_set_tag(reviewer, [catalog.product.pk, 424242], catalog.cotton, True)


def test_review_state_shows_suggestions_and_decisions_grouped_by_facet(catalog: Catalog) -> None:
    set_state(catalog.product, catalog.wool, "rejected")
    set_state(catalog.product, catalog.linen, "approved")

    views = review.review_state(catalog.product, catalog.version)

    by_name = {v.label: v for v in views}
    assert [v.label for v in views] == ["red", "wool", "cotton", "linen"]
    assert [facet for facet, _ in review.group_by_facet(views)] == ["color", "material"]
    assert (by_name["red"].selected, by_name["red"].score, by_name["red"].evidence) == (
        True,
        0.9,
        [(0, 3)],
    )
    assert (by_name["wool"].suggested, by_name["wool"].selected) == (True, False)
    assert (by_name["cotton"].suggested, by_name["cotton"].selected) == (False, False)
    assert (by_name["linen"].score, by_name["linen"].selected) == (None, True)
    assert by_name["red"].single_valued
    assert not by_name["linen"].single_valued


def test_review_state_without_a_model_shows_only_decisions(catalog: Catalog) -> None:
    set_state(catalog.product, catalog.linen, "approved")

    views = review.review_state(catalog.product, None)

    assert [(v.key, v.selected) for v in views] == [("material:linen", True)]

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from annotation import roles
from annotation.models import (
    ProjectSettings,
    QueueEntry,
    QueueSkip,
    ReviewEvent,
    Tag,
)
from annotation.services import queue
from annotation.services.review import Decision, submit_review
from annotation.tasks import release_expired_leases
from tests.factories import ProductFactory, TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db


def queued(priorities: list[float]) -> list[QueueEntry]:
    """One queued product per priority, in that order."""
    products = ProductFactory.create_batch(len(priorities))
    queue.ensure_queue_entries()
    entries = []
    for product, priority in zip(products, priorities, strict=True):
        entry = product.queue_entry
        entry.priority = priority
        entry.save(update_fields=["priority"])
        entries.append(entry)
    return entries


@pytest.fixture
def reviewers(make_user: Callable[..., User]) -> list[User]:
    return [make_user(f"r{i}", roles.MERCHANDISER) for i in range(3)]


def test_it_queues_every_unreviewed_product_once_including_the_eval_set() -> None:
    # given
    plain, eval_product, reviewed = ProductFactory.create_batch(3)
    eval_product.is_eval = True
    eval_product.save(update_fields=["is_eval"])
    reviewed.reviewed_at = timezone.now()
    reviewed.save(update_fields=["reviewed_at"])
    # when
    created = queue.ensure_queue_entries()
    again = queue.ensure_queue_entries()
    # then
    assert created == 2
    assert again == 0
    assert set(QueueEntry.objects.values_list("product_id", flat=True)) == {
        plain.pk,
        eval_product.pk,
    }


def test_it_queues_only_the_products_asked_for() -> None:
    _first, second = ProductFactory.create_batch(2)

    created = queue.ensure_queue_entries([second.pk])

    assert created == 1
    assert list(QueueEntry.objects.values_list("product_id", flat=True)) == [second.pk]


def test_the_overlap_share_needs_k_reviewers_chosen_by_product_id() -> None:
    settings = ProjectSettings.load()
    settings.overlap_share = 0.5
    settings.overlap_reviewers = 3
    settings.save()
    products = ProductFactory.create_batch(200)

    queue.ensure_queue_entries()

    needed = dict(QueueEntry.objects.values_list("product_id", "reviews_needed"))
    overlap = {pid for pid, k in needed.items() if k == 3}
    assert set(needed.values()) == {1, 3}
    assert overlap == {p.pk for p in products if queue.in_overlap_share(p.pk, 0.5)}
    assert 60 < len(overlap) < 140


def test_it_gives_the_highest_priority_product(reviewers: list[User]) -> None:
    _low, high, _middle = queued([0.1, 0.9, 0.5])

    entry = queue.claim_next(reviewers[0])

    assert entry is not None
    assert entry.pk == high.pk
    assert entry.leased_by == reviewers[0]
    assert entry.lease_expires_at > timezone.now()


def test_a_second_reviewer_gets_a_different_product(reviewers: list[User]) -> None:
    queued([0.9, 0.5])

    first = queue.claim_next(reviewers[0])
    second = queue.claim_next(reviewers[1])

    assert first is not None
    assert second is not None
    assert first.pk != second.pk


def test_it_gives_a_reviewer_their_own_lease_back(reviewers: list[User]) -> None:
    queued([0.9, 0.5])
    first = queue.claim_next(reviewers[0], lease_seconds=60)
    assert first is not None

    again = queue.claim_next(reviewers[0], lease_seconds=600)

    assert again is not None
    assert again.pk == first.pk
    assert QueueEntry.objects.filter(leased_by=reviewers[0]).count() == 1
    assert again.lease_expires_at > first.lease_expires_at  # the reload extended it


def test_an_expired_lease_is_claimed_by_another_reviewer(reviewers: list[User]) -> None:
    [only] = queued([0.9])
    QueueEntry.objects.filter(pk=only.pk).update(
        leased_by=reviewers[0], lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    entry = queue.claim_next(reviewers[1])

    assert entry is not None
    assert entry.pk == only.pk
    assert entry.leased_by == reviewers[1]


def test_a_live_lease_is_not_served_to_anyone_else(reviewers: list[User]) -> None:
    queued([0.9])
    assert queue.claim_next(reviewers[0]) is not None

    assert queue.claim_next(reviewers[1]) is None


def test_a_skipped_product_is_not_served_straight_back(reviewers: list[User]) -> None:
    # given
    top, _ = queued([0.9, 0.5])
    claimed = queue.claim_next(reviewers[0])
    assert claimed is not None
    assert claimed.pk == top.pk
    # when
    queue.skip(reviewers[0], top.product)
    next_for_skipper = queue.claim_next(reviewers[0])
    # then
    assert next_for_skipper is not None
    assert next_for_skipper.pk != top.pk
    assert ReviewEvent.objects.filter(
        user=reviewers[0], product=top.product, action=ReviewEvent.Action.SKIP
    ).exists()


def test_another_reviewer_gets_a_skipped_product_at_once(reviewers: list[User]) -> None:
    top, _ = queued([0.9, 0.5])
    queue.claim_next(reviewers[0])

    queue.skip(reviewers[0], top.product)
    entry = queue.claim_next(reviewers[1])

    assert entry is not None
    assert entry.pk == top.pk


def test_a_skipped_product_comes_back_when_nothing_else_is_left(reviewers: list[User]) -> None:
    [only] = queued([0.9])
    queue.claim_next(reviewers[0])
    queue.skip(reviewers[0], only.product)

    entry = queue.claim_next(reviewers[0])

    assert entry is not None
    assert entry.pk == only.pk


def test_every_skipper_keeps_their_cooldown_when_others_skip_too(
    reviewers: list[User],
) -> None:
    # The audit's case: merch2 skips a product, merch gets it and skips it too;
    # merch2 must not get it back, nor merch.
    top, second, third = queued([0.9, 0.5, 0.4])
    first_skipper, second_skipper = reviewers[1], reviewers[0]
    assert queue.claim_next(first_skipper).pk == top.pk  # type: ignore[union-attr]
    queue.skip(first_skipper, top.product)
    assert queue.claim_next(second_skipper).pk == top.pk  # type: ignore[union-attr]
    queue.skip(second_skipper, top.product)

    for_first = queue.claim_next(first_skipper)
    for_second = queue.claim_next(second_skipper)

    assert for_first is not None
    assert for_second is not None
    assert {for_first.pk, for_second.pk} == {second.pk, third.pk}
    assert QueueSkip.objects.filter(product=top.product).count() == 2


def test_skips_hold_through_many_rounds_of_two_reviewers(reviewers: list[User]) -> None:
    # Both reviewers alternately skip and review; nobody sees a product twice.
    queued([1.0 - i / 100 for i in range(12)])
    decision = Decision(tag_id=TagFactory(group=TagGroupFactory()).pk, approved=False)
    seen: dict[int, list[int]] = {reviewers[0].pk: [], reviewers[1].pk: []}
    for turn in range(10):
        user = reviewers[turn % 2]
        entry = queue.claim_next(user)
        assert entry is not None
        seen[user.pk].append(entry.pk)
        if turn % 4 < 2:
            queue.skip(user, entry.product)
        else:
            submit_review(user, entry.product, [decision])
    for pks in seen.values():
        assert len(pks) == len(set(pks)), pks


def test_a_skipped_product_comes_back_after_the_cooldown(
    reviewers: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    top, second = queued([0.9, 0.5])
    queue.claim_next(reviewers[0])
    queue.skip(reviewers[0], top.product)
    queue.claim_next(reviewers[1])
    queue.skip(reviewers[1], top.product)
    queue.release(queue.claim_next(reviewers[1]), reviewers[1])  # type: ignore[arg-type]
    skipped_at = timezone.now()

    # Just inside the cooldown the other product comes first ...
    monkeypatch.setattr(
        timezone, "now", lambda: skipped_at + queue.SKIP_COOLDOWN - timedelta(seconds=5)
    )
    inside = queue.claim_next(reviewers[0])
    assert inside is not None
    assert inside.pk == second.pk
    queue.release(inside, reviewers[0])
    # ... and once it is over, the skipped product is the best again, for both.
    monkeypatch.setattr(
        timezone, "now", lambda: skipped_at + queue.SKIP_COOLDOWN + timedelta(seconds=1)
    )
    after = queue.claim_next(reviewers[0])
    assert after is not None
    assert after.pk == top.pk
    queue.release(after, reviewers[0])
    again = queue.claim_next(reviewers[1])
    assert again is not None
    assert again.pk == top.pk


def test_a_skip_is_one_row_per_reviewer_and_expired_ones_are_forgotten(
    reviewers: list[User], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = queued([0.9, 0.5])
    queue.skip(reviewers[0], first.product)
    queue.skip(reviewers[0], first.product)  # a double press
    assert QueueSkip.objects.filter(user=reviewers[0]).count() == 1
    later = timezone.now() + queue.SKIP_COOLDOWN + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    queue.skip(reviewers[0], second.product)

    assert list(
        QueueSkip.objects.filter(user=reviewers[0]).values_list("product_id", "skipped_at")
    ) == [(second.product_id, later)]


def test_release_returns_the_product_to_the_queue(reviewers: list[User]) -> None:
    queued([0.9])
    entry = queue.claim_next(reviewers[0])
    assert entry is not None

    queue.release(entry, reviewers[0])

    entry.refresh_from_db()
    assert entry.leased_by is None
    assert entry.lease_expires_at is None
    taken = queue.claim_next(reviewers[1])
    assert taken is not None
    assert taken.pk == entry.pk


def test_release_by_someone_else_keeps_the_lease(reviewers: list[User]) -> None:
    queued([0.9])
    entry = queue.claim_next(reviewers[0])
    assert entry is not None

    queue.release(entry, reviewers[1])

    entry.refresh_from_db()
    assert entry.leased_by == reviewers[0]


def test_reranking_keeps_live_leases(reviewers: list[User]) -> None:
    # given
    top, other = queued([0.9, 0.5])
    held = queue.claim_next(reviewers[0])
    assert held is not None
    assert held.pk == top.pk
    # when: the leased product becomes the most wanted of all
    updated = queue.apply_ranking(
        {
            top.product_id: queue.Priority(5.0, QueueEntry.Reason.UNCERTAIN),
            other.product_id: queue.Priority(1.0, QueueEntry.Reason.RARE_TAG),
        },
        strategy="margin_min",
        model_version_id=None,
    )
    # then
    top.refresh_from_db()
    assert updated == 2
    assert (top.priority, top.reason, top.strategy) == (5.0, "uncertain", "margin_min")
    assert top.leased_by == reviewers[0]
    assert top.lease_expires_at == held.lease_expires_at
    second = queue.claim_next(reviewers[1])
    assert second is not None
    assert second.pk == other.pk


def test_apply_ranking_leaves_completed_entries_alone() -> None:
    done, pending = queued([0.9, 0.5])
    QueueEntry.objects.filter(pk=done.pk).update(completed_at=timezone.now())

    updated = queue.apply_ranking(
        {
            done.product_id: queue.Priority(7.0, QueueEntry.Reason.UNCERTAIN),
            pending.product_id: queue.Priority(3.0, QueueEntry.Reason.UNCERTAIN),
        },
        strategy="s",
        model_version_id=None,
    )

    done.refresh_from_db()
    assert updated == 1
    assert done.priority == 0.9


def test_apply_ranking_refuses_an_unknown_reason() -> None:
    [entry] = queued([0.9])

    with pytest.raises(ValueError, match="bogus"):
        queue.apply_ranking(
            # A string outside QueueEntry.Reason is what this test feeds in.
            {entry.product_id: queue.Priority(1.0, "bogus")},  # type: ignore[arg-type]
            strategy="s",
            model_version_id=None,
        )


@pytest.fixture
def tag() -> Tag:
    return TagFactory(group=TagGroupFactory(name="color"), name="red")


def test_an_overlap_product_goes_to_two_different_reviewers(
    reviewers: list[User], tag: Tag
) -> None:
    # given: one product that needs two reviews
    [entry] = queued([0.9])
    QueueEntry.objects.filter(pk=entry.pk).update(reviews_needed=2)
    first_reviewer, second_reviewer, _ = reviewers
    # when
    first = queue.claim_next(first_reviewer)
    assert first is not None
    submit_review(first_reviewer, first.product, [Decision(tag.pk, True)])
    served_back = queue.claim_next(first_reviewer)
    second = queue.claim_next(second_reviewer)
    assert second is not None
    submit_review(second_reviewer, second.product, [Decision(tag.pk, True)])
    # then
    entry.refresh_from_db()
    assert served_back is None
    assert second.pk == entry.pk
    assert entry.reviews_done == 2
    assert entry.completed_at is not None
    assert queue.claim_next(reviewers[2]) is None


def test_a_completed_overlap_review_waits_as_a_second_opinion(
    reviewers: list[User], tag: Tag
) -> None:
    [entry] = queued([0.9])
    QueueEntry.objects.filter(pk=entry.pk).update(reviews_needed=2)
    claimed = queue.claim_next(reviewers[0])
    assert claimed is not None

    submit_review(reviewers[0], claimed.product, [Decision(tag.pk, True)])

    entry.refresh_from_db()
    assert entry.reviews_done == 1
    assert entry.completed_at is None
    assert entry.leased_by is None
    assert entry.reason == QueueEntry.Reason.OVERLAP


def test_complete_creates_a_finished_entry_for_a_product_without_one(
    reviewers: list[User],
) -> None:
    product = ProductFactory()

    queue.complete(product, reviewers[0])

    entry = QueueEntry.objects.get(product=product)
    assert entry.reviews_done == 1
    assert entry.completed_at is not None


def test_it_returns_none_when_the_queue_is_empty(reviewers: list[User]) -> None:
    assert queue.claim_next(reviewers[0]) is None


def test_release_expired_leases_clears_only_expired_ones(reviewers: list[User]) -> None:
    expired, live = queued([0.9, 0.5])
    now = timezone.now()
    QueueEntry.objects.filter(pk=expired.pk).update(
        leased_by=reviewers[0], lease_expires_at=now - timedelta(minutes=1)
    )
    QueueEntry.objects.filter(pk=live.pk).update(
        leased_by=reviewers[1], lease_expires_at=now + timedelta(minutes=5)
    )

    released = release_expired_leases.delay().get()

    expired.refresh_from_db()
    live.refresh_from_db()
    assert released == 1
    assert expired.leased_by is None
    assert live.leased_by == reviewers[1]


def test_queue_stats_counts_pending_leased_and_completed(reviewers: list[User]) -> None:
    done, leased, _, _ = queued([0.9, 0.8, 0.5, 0.4])
    QueueEntry.objects.filter(pk=done.pk).update(completed_at=timezone.now())
    QueueEntry.objects.filter(pk=leased.pk).update(
        leased_by=reviewers[0], lease_expires_at=timezone.now() + timedelta(minutes=5)
    )

    stats = queue.queue_stats()

    assert stats["pending"] == 2
    assert stats["leased"] == 1
    assert stats["completed"] == 1
    assert stats["by_reason"] == {"new_product": 3}

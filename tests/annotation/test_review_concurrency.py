"""Reviewers submitting the same product at the same moment, from real threads:
leases are the law, so exactly one submit wins and the others are refused."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from annotation import roles
from annotation.errors import LeaseConflict
from annotation.models import ProductTag, QueueEntry, ReviewEvent
from annotation.services import queue
from annotation.services.review import Decision, submit_review
from tests.factories import ProductFactory, TagFactory, TagGroupFactory, UserFactory

PRODUCTS = 5


def skip_unless_threads_share_a_real_database() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "an in-memory SQLite test database is shared between threads with table locks "
            "that ignore the busy timeout; run on PostgreSQL or a file SQLite test database"
        )


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set DATABASE_URL=postgres://...): SQLite has no row locks, "
            "its IMMEDIATE transactions serialise every write instead"
        )


def race(jobs: list[Callable[[], None]]) -> tuple[int, list[LeaseConflict]]:
    """Run the jobs at once, each on its own connection: how many went through,
    and the LeaseConflicts of the others (any other error fails the test)."""
    barrier = threading.Barrier(len(jobs))
    lock = threading.Lock()
    won: list[int] = []
    refused: list[LeaseConflict] = []
    errors: list[BaseException] = []

    def work(job: Callable[[], None]) -> None:
        try:
            barrier.wait()
            job()
            with lock:
                won.append(1)
        except LeaseConflict as exc:
            with lock:
                refused.append(exc)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return len(won), refused


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_product_let_exactly_one_win() -> None:
    skip_unless_threads_share_a_real_database()
    # given: each product reviewed at once by two people who disagree on every tag
    group = TagGroupFactory(name="material")
    cotton = TagFactory(group=group, name="cotton")
    wool = TagFactory(group=group, name="wool")
    products = ProductFactory.create_batch(PRODUCTS)
    queue.ensure_queue_entries()
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    opinions = {
        alice.pk: [Decision(cotton.pk, True), Decision(wool.pk, False)],
        bob.pk: [Decision(cotton.pk, False), Decision(wool.pk, True)],
    }
    # neither holds a lease: the product is free, so the first submit takes it
    jobs = [
        (lambda u=user, p=product: submit_review(u, p, opinions[u.pk]))
        for product in products
        for user in (alice, bob)
    ]
    # when
    won, refused = race(jobs)
    # then
    assert (won, len(refused)) == (PRODUCTS, PRODUCTS)
    for product in products:
        events = list(ReviewEvent.objects.filter(product=product).order_by("pk"))
        assert len(events) == 2  # one submission on record, whole
        assert len({e.submission for e in events}) == 1
        winner = events[0].user_id
        assert {e.user_id for e in events} == {winner}
        final = dict(ProductTag.objects.filter(product=product).values_list("tag_id", "state"))
        assert final == {e.tag_id: e.new_state for e in events}
        entry = QueueEntry.objects.get(product=product)
        assert entry.reviews_done == 1
        assert entry.completed_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_lease_holder_wins_every_race_on_postgresql() -> None:
    skip_unless_postgresql()
    # given: alice holds a lease on each product; bob and carol submit them too
    tag = TagFactory(group=TagGroupFactory(name="color"), name="red")
    products = ProductFactory.create_batch(PRODUCTS, queued=True)
    alice, bob, carol = (UserFactory(role=roles.MERCHANDISER) for _ in range(3))
    # (claim_next gives a reviewer one lease at a time; these are set directly)
    QueueEntry.objects.update(
        leased_by=alice, lease_expires_at=timezone.now() + timedelta(minutes=10)
    )
    jobs = [
        (lambda u=user, p=product, ok=user == alice: submit_review(u, p, [Decision(tag.pk, ok)]))
        for product in products
        for user in (alice, bob, carol)
    ]
    # when
    won, refused = race(jobs)
    # then
    assert (won, len(refused)) == (PRODUCTS, 2 * PRODUCTS)
    assert {exc.holder for exc in refused} <= {alice.username, None}
    assert set(ReviewEvent.objects.values_list("user", flat=True)) == {alice.pk}
    assert set(ProductTag.objects.values_list("state", flat=True)) == {"approved"}
    assert set(QueueEntry.objects.values_list("reviews_done", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_an_overlap_product_gets_exactly_the_reviews_it_needs_on_postgresql() -> None:
    skip_unless_postgresql()
    # given: products that need two reviews, and four reviewers submitting each at once
    tag = TagFactory(group=TagGroupFactory(name="color"), name="red")
    products = ProductFactory.create_batch(PRODUCTS, queued=True)
    QueueEntry.objects.update(reviews_needed=2)
    reviewers = [UserFactory(role=roles.MERCHANDISER) for _ in range(4)]
    jobs = [
        (lambda u=user, p=product: submit_review(u, p, [Decision(tag.pk, True)]))
        for product in products
        for user in reviewers
    ]
    # when
    won, refused = race(jobs)
    # then
    assert (won, len(refused)) == (2 * PRODUCTS, 2 * PRODUCTS)
    for entry in QueueEntry.objects.all():
        assert entry.reviews_done == 2
        assert entry.completed_at is not None
        reviewed_by = ReviewEvent.objects.filter(product_id=entry.product_id)
        assert reviewed_by.values("user").distinct().count() == 2

"""Two reviewers submitting the same product at the same moment, from real threads."""

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from annotation.models import Product, ProductTag, QueueEntry, ReviewEvent, Tag, TagGroup
from annotation.services import queue
from annotation.services.review import Decision, submit_review

PRODUCTS = 5


def skip_unless_threads_share_a_real_database() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "an in-memory SQLite test database is shared between threads with table locks "
            "that ignore the busy timeout; run on PostgreSQL or a file SQLite test database"
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_product_apply_one_after_the_other() -> None:
    skip_unless_threads_share_a_real_database()
    # given: each product reviewed at once by two people who disagree on every tag
    group = TagGroup.objects.create(name="material")
    cotton = Tag.objects.create(group=group, name="cotton")
    wool = Tag.objects.create(group=group, name="wool")
    products = [
        Product.objects.create(external_id=f"s{i}", title=f"Sweater {i}", content_hash=f"h{i}")
        for i in range(PRODUCTS)
    ]
    queue.ensure_queue_entries()
    alice = User.objects.create_user(username="alice")
    bob = User.objects.create_user(username="bob")
    opinions = {
        alice.pk: [Decision(cotton.pk, True), Decision(wool.pk, False)],
        bob.pk: [Decision(cotton.pk, False), Decision(wool.pk, True)],
    }
    jobs = [(user, product) for product in products for user in (alice, bob)]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(user: User, product: Product) -> None:
        try:
            barrier.wait()
            submit_review(user, product, opinions[user.pk])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    for product in products:
        events = list(ReviewEvent.objects.filter(product=product).order_by("pk"))
        assert len(events) == 4  # both submissions are on record
        assert len({e.submission for e in events}) == 2
        first, last = events[0].user_id, events[-1].user_id
        assert first != last
        # the later submission saw the earlier one's result: they never interleaved
        later = [e for e in events if e.user_id == last]
        earlier = {e.tag_id: e.new_state for e in events if e.user_id == first}
        assert {e.tag_id: e.previous_state for e in later} == earlier
        # last write wins, whole
        final = dict(ProductTag.objects.filter(product=product).values_list("tag_id", "state"))
        assert final == {e.tag_id: e.new_state for e in later}
        entry = QueueEntry.objects.get(product=product)
        assert entry.reviews_done == 2
        assert entry.completed_at is not None

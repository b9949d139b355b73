"""Claims racing each other from real threads, each on its own database connection."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from annotation.models import QueueEntry
from annotation.services import queue
from tests.factories import ProductFactory, UserFactory

THREADS = 10
CLAIMS = 50


def run_in_threads(work: Callable[[int], None], threads: int) -> list[BaseException]:
    """Run work(0..threads-1) at once; the errors they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def claims_from_threads() -> list[int | None]:
    # given: more products than claims, and one reviewer per claim (a reviewer's
    # second claim would rightly return their first lease)
    ProductFactory.create_batch(CLAIMS + 10)
    queue.ensure_queue_entries()
    users = UserFactory.create_batch(CLAIMS)
    per_thread = CLAIMS // THREADS
    claimed: list[int | None] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for user in users[index * per_thread : (index + 1) * per_thread]:
            entry = queue.claim_next(user)
            with lock:
                claimed.append(entry.product_id if entry else None)

    # when
    errors = run_in_threads(work, THREADS)
    assert errors == []
    return claimed


def assert_distinct(claimed: list[int | None]) -> None:
    assert len(claimed) == CLAIMS
    assert None not in claimed
    assert len(set(claimed)) == CLAIMS
    leases = QueueEntry.objects.filter(leased_by__isnull=False)
    assert leases.count() == CLAIMS
    assert leases.values("leased_by").distinct().count() == CLAIMS


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_claims_get_fifty_distinct_products_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://...) for real row locks")

    claimed = claims_from_threads()

    assert_distinct(claimed)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_claims_get_fifty_distinct_products_on_sqlite() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant; PostgreSQL has its own test")
    if connection.is_in_memory_db():
        pytest.skip(
            "an in-memory SQLite test database is shared between threads with table locks "
            'that ignore the busy timeout; set DATABASES["default"]["TEST"]["NAME"] to a file'
        )

    claimed = claims_from_threads()

    assert_distinct(claimed)

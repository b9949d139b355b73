"""The database drops its connections in the middle of a review session.

A real gunicorn (one sync worker, so one kept-alive database connection) serves
the review page. pg_terminate_backend does to its connection what a database
restart or failover does. Between a claim and a submit, the submit must still
succeed; in the middle of the submit's transaction, the reviewer must get a
clear answer, nothing of the submit may be left half-written, and submitting
again must work."""

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client

from annotation.models import Product, ProductTag, QueueEntry, ReviewEvent, Tag
from bench.load_stack import Service, WebSession, start_gunicorn
from tests.factories import ProductFactory, TagFactory, TagGroupFactory
from tests.training.test_worker_integration import database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has no server connection to drop "
            "(run with DATABASE_URL=postgres://...)"
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Service, int]]:
    _skip_unless_postgresql()
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        # Keep the connection between requests, as production does: the one a
        # restart breaks is then the one the next request would reuse.
        "DATABASE_CONN_MAX_AGE": "600",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TAGGER_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
    }
    service, port = start_gunicorn(env, tmp_path / "gunicorn.log", workers=1, threads=1)
    yield service, port
    service.stop()


@pytest.fixture
def tags() -> list[Tag]:
    colour = TagGroupFactory(name="colour", multi_valued=False)
    material = TagGroupFactory(name="material")
    return [
        TagFactory(group=colour, name="red"),
        TagFactory(group=material, name="cotton"),
        TagFactory(group=material, name="wool"),
    ]


@pytest.fixture
def product() -> Product:
    return ProductFactory(
        external_id="db-1",
        title="Red cotton shirt",
        normalized_text="red cotton shirt",
        queued=True,
    )


def _reviewer_session(user: User, port: int) -> WebSession:
    client = Client()
    client.force_login(user)
    web = WebSession("127.0.0.1", port)
    web.cookies["sessionid"] = client.cookies["sessionid"].value
    return web


def _claim(web: WebSession) -> int:
    page = web.get("/review/")
    assert page.status == 200, page.body[:500]
    return int(re.search(r'name="product" value="(\d+)"', page.body).group(1))


def _terminate_other_backends() -> int:
    """What a restart does to every connection but this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _submit_fields(product: Product, tags: list[Tag]) -> list[tuple[str, str]]:
    red, cotton, wool = tags
    # red and cotton approved (added), wool shown and left unchecked (rejected)
    return [
        ("product", str(product.pk)),
        ("tag", str(red.pk)),
        ("tag", str(cotton.pk)),
        ("shown", str(wool.pk)),
    ]


def _assert_saved_once(product: Product, tags: list[Tag], user: User) -> None:
    red, cotton, wool = tags
    states = dict(ProductTag.objects.filter(product=product).values_list("tag_id", "state"))
    assert states == {red.pk: "approved", cotton.pk: "approved", wool.pk: "rejected"}
    events = ReviewEvent.objects.filter(product=product, user=user)
    assert events.count() == 3
    assert events.values("submission").distinct().count() == 1
    product.refresh_from_db()
    assert product.reviewed_at is not None
    entry = QueueEntry.objects.get(product=product)
    assert entry.completed_at is not None
    assert entry.reviews_done == 1


def test_a_submit_after_the_database_dropped_the_connection_succeeds(
    server: tuple[Service, int], merchandiser: User, tags: list[Tag], product: Product
) -> None:
    # given a reviewer holding a product
    _, port = server
    web = _reviewer_session(merchandiser, port)
    assert _claim(web) == product.pk

    # when the database drops the server's connection
    assert _terminate_other_backends() >= 1
    response = web.post("/review/submit/", _submit_fields(product, tags))

    # then the submit goes through on a new connection
    assert response.status == 302, response.body[:500]
    assert response.location.endswith("/review/")
    _assert_saved_once(product, tags, merchandiser)


def _backend_waiting_on_a_lock(timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    pytest.fail("the submit never reached the locked queue entry")


def test_a_connection_lost_inside_the_submit_saves_nothing_and_a_retry_saves_it(
    server: tuple[Service, int], merchandiser: User, tags: list[Tag], product: Product
) -> None:
    # given a reviewer holding a product
    _, port = server
    web = _reviewer_session(merchandiser, port)
    assert _claim(web) == product.pk
    answers: list = []

    # when the connection dies mid-transaction: the submit has written its events
    # and tags and waits for the queue entry, which this test holds locked
    with transaction.atomic():
        QueueEntry.objects.select_for_update().get(product=product)
        submit = threading.Thread(
            target=lambda: answers.append(
                web.post("/review/submit/", _submit_fields(product, tags))
            )
        )
        submit.start()
        pid = _backend_waiting_on_a_lock()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    submit.join(timeout=60)

    # then the reviewer is told plainly, and nothing of the submit was kept
    (failed,) = answers
    assert failed.status == 503
    assert failed.body.startswith("The database could not be reached")
    assert not ProductTag.objects.filter(product=product).exists()
    assert not ReviewEvent.objects.filter(product=product).exists()
    product.refresh_from_db()
    assert product.reviewed_at is None
    entry = QueueEntry.objects.get(product=product)
    assert (entry.completed_at, entry.reviews_done, entry.leased_by_id) == (
        None,
        0,
        merchandiser.pk,
    )

    # and submitting again saves it, once
    retry = web.post("/review/submit/", _submit_fields(product, tags))
    assert retry.status == 302, retry.body[:500]
    _assert_saved_once(product, tags, merchandiser)

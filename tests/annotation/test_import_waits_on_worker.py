"""An import queued with no worker to take it says so, with the command that
starts one (the same question `train --wait` asks: annotation/services/workers.py)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import ImportBatch
from tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db

WARNING = "No worker consumes the queue"


@pytest.fixture
def no_eager_tasks() -> Iterator[None]:
    """Ask the real broker (nobody consumes this test's default queue) instead
    of treating this process as the worker; no cached answer from earlier."""
    was_eager, was_queue = current_app.conf.task_always_eager, current_app.conf.task_default_queue
    current_app.conf.task_always_eager = False
    current_app.conf.task_default_queue = "tagger-test-nobody-imports"
    cache.clear()
    try:
        yield
    finally:
        current_app.conf.task_always_eager = was_eager
        current_app.conf.task_default_queue = was_queue
        cache.clear()


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def _queued(minutes_ago: float) -> ImportBatch:
    batch = ImportBatchFactory(status=ImportBatch.Status.QUEUED)
    ImportBatch.objects.filter(pk=batch.pk).update(
        started_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return batch


def test_a_long_queued_import_without_a_worker_says_how_to_start_one(
    admin_client: Client, no_eager_tasks: None
) -> None:
    batch = _queued(5)
    for name in ("annotation:import_batch", "annotation:import_progress"):
        html = admin_client.get(reverse(name, args=[batch.pk])).content.decode()
        assert WARNING in html
        assert "celery -A tagger worker -Q tagger-test-nobody-imports -l info" in html


def test_a_fresh_import_does_not_ask_yet(admin_client: Client, no_eager_tasks: None) -> None:
    batch = _queued(0)
    html = admin_client.get(reverse("annotation:import_progress", args=[batch.pk])).content
    assert WARNING not in html.decode()


def test_with_a_worker_there_is_no_warning(admin_client: Client) -> None:
    # Tasks run eagerly in the test settings: this process is the worker.
    batch = _queued(5)
    html = admin_client.get(reverse("annotation:import_progress", args=[batch.pk])).content
    assert WARNING not in html.decode()

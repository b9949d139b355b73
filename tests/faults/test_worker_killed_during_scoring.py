"""A Celery worker killed with SIGKILL in the middle of scoring the catalogue.

The scoring of a big catalogue is a group of chunk tasks, each acknowledged only
once done (acks_late). The chunk the dead worker held goes back to the queue when
its visibility timeout runs out, the chunks it never reached are still queued,
so a restarted worker finishes the job; every chunk replaces its own rows, so
what was written twice is not duplicated. (A worker killed mid-training is
covered by tests/training/test_worker_integration.py.)"""

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from annotation.models import Product, QueueEntry, Suggestion, Tag
from annotation.services import queue
from tests.factories import ProductFactory
from tests.faults.conftest import celery_broker
from tests.training.test_worker_integration import BROKER, wait_for
from training import tasks
from training.ml.text import product_text
from training.models import ModelVersion
from training.services import scoring, versions

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Big enough for score_catalog to fan out into chunk tasks (five of them).
PRODUCTS = tasks.FANOUT_MIN_PRODUCTS + 4
# Each prediction call (256 products) waits this long in the worker, so a chunk
# task takes a few seconds and the kill lands in the middle of the job.
SLOW_PREDICTION_S = "0.4"
# Short, so the killed worker's chunk is handed out again within the test.
VISIBILITY_TIMEOUT_S = "8"


def _catalogue(n: int) -> list[int]:
    words = ["red cotton shirt", "blue leather bag", "green wool scarf", "red silk hat"]
    rows = []
    for i in range(n):
        title = product_text(f"{words[i % len(words)]} number {i}")
        rows.append(ProductFactory.build(external_id=f"k{i}", title=title))
    Product.objects.bulk_create(rows, batch_size=1000)
    return list(Product.objects.order_by("pk").values_list("pk", flat=True))


def _scored_products(version: ModelVersion) -> int:
    return Suggestion.objects.filter(model_version=version).values("product").distinct().count()


def _rows(version: ModelVersion) -> list[tuple[int, int, float, bool]]:
    rows = (
        Suggestion.objects.filter(model_version=version)
        .order_by("product_id", "tag_id")
        .values_list("product_id", "tag_id", "score", "selected")
    )
    # Rounded: another process may sum the same floats in another order.
    return [(p, t, round(s, 5), sel) for p, t, s, sel in rows]


@pytest.fixture
def redis_queue_cleanup(worker_env: dict[str, str]) -> object:
    yield
    # The test's queue (and anything a dead worker left in it) goes with the test.
    client = redis.Redis.from_url(BROKER)
    client.delete(worker_env["TEST_WORKER_QUEUE"])


def test_a_worker_killed_mid_scoring_is_replaced_and_the_scoring_completes_once(
    taxonomy: dict[str, Tag],
    ml_settings: Path,
    worker_env: dict[str, str],
    start_worker: Callable[..., subprocess.Popen],
    redis_queue_cleanup: object,
) -> None:
    # given an active model, a catalogue that fans out into chunks, and a slow worker
    ids = _catalogue(PRODUCTS)
    version = versions.ensure_zero_shot_version()
    assert version is not None
    assert version.status == ModelVersion.Status.ACTIVE
    queue.ensure_queue_entries()
    worker = start_worker(
        TEST_SLOW_SCORING=SLOW_PREDICTION_S, CELERY_BROKER_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT_S
    )
    with celery_broker(BROKER):
        tasks.score_catalog.apply_async(
            args=[version.pk, None, True], queue=worker_env["TEST_WORKER_QUEUE"]
        )
    wait_for(lambda: _scored_products(version) >= 256, "the worker to score its first products")

    # when it is killed mid-way and another worker starts
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    scored_when_killed = _scored_products(version)
    start_worker(CELERY_BROKER_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT_S)

    # then every product ends up scored and the queue ranked by the version
    wait_for(
        lambda: (
            not scoring.pending_products(version).exists()
            and QueueEntry.objects.filter(model_version=version).count() == len(ids)
        ),
        "the restarted worker to finish scoring and rank the queue",
    )
    assert 0 < scored_when_killed < len(ids)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE
    # and the rows are exactly those of one clean scoring: nothing twice, nothing missing
    after_recovery = _rows(version)
    scoring.score_products(version, ids)
    assert after_recovery == _rows(version)
    assert len({(p, t) for p, t, _, _ in after_recovery}) == len(after_recovery)
    assert {p for p, _, _, _ in after_recovery} == set(ids)

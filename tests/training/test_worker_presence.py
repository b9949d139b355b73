"""A real Celery worker, started as a process on the test's own broker, is found
by the question that `train --wait`, `rescore --wait` and the dashboard ask, and
answers the container health check's ping."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings

from annotation.services import workers
from tagger import healthcheck

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 180


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[str, str]]:
    queue = f"tagger-test-present-{uuid.uuid4().hex[:10]}"
    node = f"{queue}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tagger.settings",
        "SECRET_KEY": "tests-only-not-secret",
        # The same broker as this process: the filesystem broker's folders under
        # the test settings' TAGGER_VAR_DIR, or the Redis of the PostgreSQL run.
        "CELERY_BROKER_URL": str(current_app.conf.broker_url),
        "TAGGER_VAR_DIR": str(settings.VAR_DIR),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tagger",
            "worker",
            "-Q",
            queue,
            "-n",
            node,
            "-P",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue, node
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def test_a_running_worker_is_found_and_answers_the_health_ping(
    worker: tuple[str, str], tmp_path: Path
) -> None:
    queue, node = worker
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + WAIT_S
        answer = workers.consumers(queue, timeout=1.0)
        while answer.none and time.monotonic() < deadline:
            time.sleep(1.0)
            answer = workers.consumers(queue, timeout=1.0)
        log = (tmp_path / "worker.log").read_text()[-2000:]
        assert answer.workers == (node,), log
        ok, why = healthcheck.check_worker(node, timeout=5.0)
        assert ok, why
        ok, why = healthcheck.check_worker(f"nobody-{uuid.uuid4().hex[:6]}@nowhere", timeout=1.0)
        assert not ok
    finally:
        current_app.conf.task_always_eager = was

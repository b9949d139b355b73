"""The demo's worker stops on SIGTERM even while it trains: Celery's warm
shutdown waits for the running tasks, and the training now learns that the
worker is stopping and ends (cancelled) instead of running on for minutes."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.training.conftest import MakeCatalogue
from training.models import TrainingRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Generous: the bound only guards against the old hang (a training of
# minutes or hours); a stopping worker normally exits within seconds.
EXIT_WITHIN_S = 90
START_WITHIN_S = 120


def sqlite_url() -> str:
    if connection.vendor != "sqlite":
        pytest.skip("this test runs the demo's setup: SQLite and the filesystem broker")
    name = str(connection.settings_dict["NAME"])
    if "mode=memory" in name or name == ":memory:":
        pytest.skip("the test database is in memory: a worker process cannot share it")
    return f"sqlite:///{name}"


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tagger.settings",
        SECRET_KEY="tests-only-not-secret",
        DATABASE_URL=sqlite_url(),
        CELERY_BROKER_URL="filesystem://localhost/",
        CELERY_TASK_ALWAYS_EAGER="false",
        TAGGER_VAR_DIR=str(tmp_path / "var"),
        TAGGER_WORKER_NICE="0",
        TAGGER_TRAIN_MODE="head",
    )
    return env


@pytest.fixture
def worker(demo_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen]:
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "training" / "shutdown_worker_main.py")],
        cwd=ROOT,
        env=demo_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_sigterm_stops_a_training_worker(
    make_catalogue: MakeCatalogue,
    demo_env: dict[str, str],
    worker: subprocess.Popen,
    tmp_path: Path,
) -> None:
    # given: the worker is training (a run that would never end by itself)
    make_catalogue(20)
    queued = subprocess.run(
        [sys.executable, "manage.py", "train", "--mode", "head"],
        cwd=ROOT,
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=START_WITHIN_S,
    )
    assert queued.returncode == 0, queued.stderr[-3000:]
    wait_for(
        lambda: TrainingRun.objects.filter(status="running", progress__gt=5).exists(),
        "the training to be under way",
        START_WITHIN_S,
    )
    # when: SIGTERM, as the demo script's trap sends it
    worker.send_signal(signal.SIGTERM)
    # then: the worker exits by itself, and the run is recorded as cancelled
    try:
        code = worker.wait(timeout=EXIT_WITHIN_S)
    except subprocess.TimeoutExpired:
        log = (tmp_path / "worker.log").read_text()[-3000:]
        pytest.fail(f"the worker was still running {EXIT_WITHIN_S} s after SIGTERM:\n{log}")
    assert code == 0
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.CANCELLED
    assert run.in_flight is None

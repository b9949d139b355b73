"""A real Celery worker on the local Redis broker, in its own process, sharing
the test database: training end to end, and a worker killed mid-training."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from annotation.models import ProjectSettings, Suggestion
from tests.factories import ModelVersionFactory
from tests.training.conftest import MakeCatalogue
from training.models import ModelVersion, TrainingRun
from training.services import runs

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/15"
WAIT_S = 180


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if "mode=memory" in str(db["NAME"]) or db["NAME"] == ":memory:":
            pytest.skip("the test database is in memory: a worker process cannot share it")
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker_env(tiny_bert: Path, tmp_path: Path) -> dict[str, str]:
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    queue = f"tagger-test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tagger.settings",
        SECRET_KEY="tests-only-not-secret",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="false",
        TAGGER_GPU_QUEUE=queue,
        TEST_WORKER_QUEUE=queue,
        TAGGER_VAR_DIR=str(tmp_path / "var"),
        TAGGER_BASE_MODEL=str(tiny_bert),
        TAGGER_TRAIN_MODE="head",
        TAGGER_TORCH_THREADS="1",
    )
    return env


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(**extra_env: str) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "training" / "worker_main.py")],
            cwd=ROOT,
            env={**worker_env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def manage(env: dict[str, str], *args: str, timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_a_real_worker_trains_promotes_and_scores(
    make_catalogue: MakeCatalogue,
    worker_env: dict[str, str],
    start_worker: Callable[..., subprocess.Popen],
) -> None:
    # given a labeled catalogue and a worker on the Redis broker
    products = make_catalogue(40)
    ProjectSettings.load()
    start_worker()

    # when an admin trains from the command line and waits
    result = manage(worker_env, "train", "--mode", "head", "--wait")

    # then the run succeeded in the worker, and the new version scores the catalogue
    assert result.returncode == 0, result.stderr[-3000:]
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert run.task_id
    version = run.model_version
    assert version.metrics["n_train"] > 0
    wait_for(
        lambda: (
            Suggestion.objects.filter(model_version=version).values("product").distinct().count()
            == len(products)
        ),
        "the promoted version to score every product",
    )
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.ACTIVE


def test_a_worker_killed_mid_training_leaves_a_failed_run_and_the_active_model(
    make_catalogue: MakeCatalogue,
    worker_env: dict[str, str],
    start_worker: Callable[..., subprocess.Popen],
) -> None:
    make_catalogue(20)
    active = ModelVersionFactory(mode="head", status="active", base_model="tiny")
    worker = start_worker(TEST_SLOW_TRAINING="1")
    result = manage(worker_env, "train", "--mode", "head")
    assert result.returncode == 0, result.stderr[-3000:]
    wait_for(
        lambda: TrainingRun.objects.filter(status="running", progress__gt=5).exists(),
        "the training to be under way",
    )

    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    time.sleep(1.5)  # let the last heartbeat age past the threshold below
    with override_settings(TAGGER_HEARTBEAT_STALE_SECONDS=1):
        failed = runs.fail_stale_runs()

    assert failed == 1
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error.startswith("worker stopped responding")
    assert run.in_flight is None
    assert run.model_version.status == ModelVersion.Status.FAILED
    active.refresh_from_db()
    assert active.status == ModelVersion.Status.ACTIVE

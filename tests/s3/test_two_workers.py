"""Two workers as separate processes with separate TAGGER_VAR_DIRs (two machines,
as far as files go), sharing only the database and the S3 store: the first trains
and publishes a version, the second loads it from the store and scores the
catalogue, finding the first one's embeddings in the shared cache."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annotation.models import ProjectSettings
from tests.s3.seaweed import SeaweedS3
from tests.training.conftest import MakeCatalogue
from tests.training.test_worker_integration import database_url
from training.models import ModelVersion

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = 40


def run_worker(env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "s3" / "worker_main.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert result.returncode == 0, f"worker {args} exited {result.returncode}\n{output}"
    assert lines, f"worker {args} said nothing\n{output}"
    return json.loads(lines[-1].removeprefix("RESULT "))


def worker_env(s3_server: SeaweedS3, url: str, var_dir: Path, tiny_bert: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TAGGER_CACHE_DIR", "MODEL_DIR", "TAGGER_UPLOAD_DIR", "TAGGER_EMBEDDING_CACHE"):
        env.pop(name, None)
    env.update(s3_server.env())
    env.update(
        DJANGO_SETTINGS_MODULE="tagger.settings",
        SECRET_KEY="tests-only-not-secret",
        DATABASE_URL=database_url(),
        # Nothing consumes the queue: each worker does only what it is told here.
        CELERY_BROKER_URL="filesystem://localhost/",
        CELERY_TASK_ALWAYS_EAGER="false",
        TAGGER_VAR_DIR=str(var_dir),
        MODEL_STORAGE_URL=url,
        TAGGER_BASE_MODEL=str(tiny_bert),
        TAGGER_TRAIN_MODE="head",
        TAGGER_TORCH_THREADS="1",
    )
    return env


def test_one_worker_trains_and_publishes_the_other_loads_and_scores(
    s3_server: SeaweedS3,
    tiny_bert: Path,
    make_catalogue: MakeCatalogue,
    tmp_path: Path,
) -> None:
    ProjectSettings.load()
    make_catalogue(PRODUCTS)
    url = s3_server.url(s3_server.new_bucket(), "models")
    trainer = worker_env(s3_server, url, tmp_path / "machine-a", tiny_bert)
    scorer = worker_env(s3_server, url, tmp_path / "machine-b", tiny_bert)

    trained = run_worker(trainer, "train")

    version = ModelVersion.objects.get(pk=trained["version"])
    assert version.status in (ModelVersion.Status.ACTIVE, ModelVersion.Status.READY)
    assert version.artifact_path == f"{url.split('?')[0]}/v{version.pk}"
    assert Path(trained["local_copy"]).is_relative_to(tmp_path / "machine-a")
    # Every labelled text was embedded once, into the shared cache.
    assert trained["embeddings"]["asked"] > 0

    scored = run_worker(scorer, "score", str(version.pk))

    assert not scored["had_local_copy"]
    assert scored["fetched"]
    assert Path(scored["local_copy"]).is_relative_to(tmp_path / "machine-b")
    assert scored["mode"] == "head"
    assert scored["products_scored"] == PRODUCTS
    # The scorer found what the trainer embedded: every product's text.
    assert scored["embeddings"]["asked"] == PRODUCTS
    assert scored["embeddings"]["found"] == PRODUCTS

"""TAGGER_SCORE_QUEUE sends scoring (and only scoring) to its own queue, as
Celery's router sees it in a fresh process configured from the environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from tagger.celery import app
names = ["training.tasks.score_catalog", "training.tasks.score_chunk",
         "training.tasks.rank_queue", "training.tasks.train_model"]
print(json.dumps({n: app.amqp.router.route({}, n, (), {})["queue"].name for n in names}))
"""


def _routes(tmp_path: Path, **env: str) -> dict[str, str]:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tagger.settings",
        "SECRET_KEY": "tests-only-not-secret",
        "TAGGER_VAR_DIR": str(tmp_path),
        "TAGGER_SCORE_QUEUE": "",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_scoring_goes_to_the_score_queue_when_set(tmp_path: Path) -> None:
    routes = _routes(tmp_path, TAGGER_SCORE_QUEUE="score-gpu")
    assert routes["training.tasks.score_catalog"] == "score-gpu"
    assert routes["training.tasks.score_chunk"] == "score-gpu"
    assert routes["training.tasks.rank_queue"] == "celery"


def test_everything_on_the_default_queue_when_unset(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    assert set(routes.values()) == {"celery"}

"""One of the two-worker test's workers, as its own process: its own
TAGGER_VAR_DIR (so its own MODEL_DIR and caches, like another machine), sharing
only the database and the S3 store with the other one.

    worker_main.py train          train a head version (published to the store)
    worker_main.py score VERSION  load VERSION and score the whole catalogue

Each prints one JSON line with what it did and saw.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")

import django  # noqa: E402

django.setup()

from annotation.models import Product, Suggestion  # noqa: E402
from tests.training.conftest import small_train_config  # noqa: E402
from training.models import ModelVersion  # noqa: E402
from training.services import embedding_store, job, runs, scoring, versions  # noqa: E402


def counting_store() -> dict[str, int]:
    """Count the shared embedding cache's lookups: texts asked for, texts found."""
    seen = {"asked": 0, "found": 0}
    get_many = embedding_store.DatabaseVectorStore.get_many

    def counted(self, space, keys):  # type: ignore[no-untyped-def]
        found = get_many(self, space, keys)
        seen["asked"] += len(keys)
        seen["found"] += len(found)
        return found

    embedding_store.DatabaseVectorStore.get_many = counted  # type: ignore[method-assign]
    return seen


def train() -> dict:
    job.train_config = small_train_config
    cache = counting_store()
    run = runs.trigger_training(None, "head", enqueue=False)
    started = time.perf_counter()
    version = job.run_training(run.pk)
    assert version is not None
    version.refresh_from_db()
    return {
        "version": version.pk,
        "status": version.status,
        "artifact_path": version.artifact_path,
        "local_copy": str(versions.artifact_dir(version)),
        "train_and_publish_s": round(time.perf_counter() - started, 3),
        "embeddings": cache,
    }


def score(version_id: int) -> dict:
    cache = counting_store()
    version = ModelVersion.objects.get(pk=version_id)
    local = versions.artifact_dir(version)
    had_local_copy = local.exists()
    started = time.perf_counter()
    model = versions.load_model(version)
    load_s = time.perf_counter() - started
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    written = scoring.score_products(version, ids)
    return {
        "had_local_copy": had_local_copy,
        "local_copy": str(local),
        "fetched": local.is_dir(),
        "mode": model.mode,
        "cold_load_s": round(load_s, 3),
        "score_s": round(time.perf_counter() - started, 3),
        "rows": written,
        "products_scored": Suggestion.objects.filter(model_version=version)
        .values("product")
        .distinct()
        .count(),
        "embeddings": cache,
    }


if __name__ == "__main__":
    result = train() if sys.argv[1] == "train" else score(int(sys.argv[2]))
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()

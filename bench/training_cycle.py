"""How long the model's cycle takes on a catalogue: a head-mode training in a
fresh process (encoder load and embeddings included), a retrain in the same
process (what a warm worker does: embeddings come from the cache), and scoring
the whole catalogue with and without evidence.

    .venv/bin/python bench/training_cycle.py
    .venv/bin/python bench/training_cycle.py --file ../shared/data/en_flipkart_1k.jsonl.gz
    .venv/bin/python bench/training_cycle.py \
        --file ../shared/data/en_myntra_fashion_15k.jsonl.gz --limit 3000

Targets (issue #14): the first training on 3,000 Myntra products within 2 minutes,
and on the demo catalogue a retrain plus re-scoring (new suggestions) within 60 s.

Runs on a fresh SQLite file in a temporary TAGGER_VAR_DIR; training goes
through the same run_training the Celery task calls. Prints the figures and
writes them to bench/out/training_cycle-<file>[-<limit>].json.
"""

import argparse
import gzip
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["TAGGER_VAR_DIR"] = tempfile.mkdtemp(prefix="tagger-bench-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from annotation.models import Product, ProjectSettings  # noqa: E402
from annotation.services.importing import import_products  # noqa: E402
from training.models import TrainingRun  # noqa: E402
from training.services import datasets, job, runs, scoring, versions  # noqa: E402

DEFAULT_FILE = ROOT / "annotation" / "sample_data" / "catalog.jsonl"
FIRST_TRAINING_TARGET_S = 120.0  # 3,000 products
RETRAIN_TO_SUGGESTIONS_TARGET_S = 60.0  # the demo catalogue


def first_lines(path: Path, limit: int) -> Path:
    """The file's first `limit` JSON lines (gzipped or not), written beside the
    temporary database: the catalogue a smaller shop would import."""
    opener = gzip.open if path.name.endswith(".gz") else open
    out = Path(os.environ["TAGGER_VAR_DIR"]) / f"first-{limit}.jsonl"
    with opener(path, "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        dst.writelines(itertools.islice((line for line in src if line.strip()), limit))
    return out


def train_once(label: str) -> dict:
    run = runs.trigger_training(None, "head", enqueue=False)
    start = time.perf_counter()
    version = job.run_training(run.pk)
    seconds = round(time.perf_counter() - start, 2)
    run = TrainingRun.objects.get(pk=run.pk)
    if version is None or run.status != TrainingRun.Status.SUCCEEDED:
        sys.exit(f"training run {run.pk} {run.status}: {run.error}")
    figures = {
        "run": label,
        "seconds": seconds,
        "version": version.pk,
        "n_train": version.metrics["n_train"],
        "n_eval": version.metrics["n_eval"],
        "micro_f1": round(version.metrics.get("micro_f1") or 0.0, 4),
        "macro_f1": round(version.metrics.get("macro_f1") or 0.0, 4),
    }
    print(
        f"{label:8s} {seconds:7.2f} s  train {figures['n_train']}, eval {figures['n_eval']}, "
        f"micro-F1 {figures['micro_f1']:.3f}, macro-F1 {figures['macro_f1']:.3f}"
    )
    return figures


def time_scoring(version_id: int, limit: int) -> dict:
    """Predictions alone, first with a cold embedding cache (texts the model never
    saw are embedded), then warm; then score_products as the task runs it
    (evidence and database writes included)."""
    version = versions.ModelVersion.objects.get(pk=version_id)
    model = versions.load_model(version)
    products = list(Product.objects.order_by("id")[:limit])
    texts = [p.model_text for p in products]
    timings = {}
    for label in ("predict_cold_cache_s", "predict_warm_cache_s"):
        start = time.perf_counter()
        model.predict(texts, min_score=0.0, with_evidence=False)
        timings[label] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    written = scoring.score_products(version, [p.pk for p in products])
    full = time.perf_counter() - start
    figures = {
        "products": len(products),
        **timings,
        "score_products_with_evidence_s": round(full, 2),
        "suggestions_written": written,
    }
    print(
        f"scoring  {len(products)} products: predict {timings['predict_cold_cache_s']:.2f} s "
        f"(cold cache), {timings['predict_warm_cache_s']:.2f} s (warm); score_products with "
        f"evidence {full:.2f} s ({written} suggestions)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--score-limit", type=int, default=400, help="products to time scoring on")
    parser.add_argument("--limit", type=int, help="import only the file's first N products")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found")
    stem = args.file.name.split(".")[0] + (f"-{args.limit}" if args.limit else "")
    out = args.out or ROOT / "bench" / "out" / f"training_cycle-{stem}.json"
    source = first_lines(args.file, args.limit) if args.limit else args.file

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    result = import_products(source, keep_valid=True)
    print(f"import   {time.perf_counter() - start:7.2f} s  {result.summary()}")
    # Promotion would re-score the catalogue in this process; scoring is timed apart.
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auto_promote": False})

    first = train_once("first")
    again = train_once("retrain")
    scored = time_scoring(again["version"], args.score_limit)
    retrain_to_suggestions = round(again["seconds"] + scored["score_products_with_evidence_s"], 2)
    print(
        f"first training {first['seconds']:.1f} s (target for 3,000 products "
        f"{FIRST_TRAINING_TARGET_S:.0f} s); retrain + scoring {retrain_to_suggestions:.1f} s "
        f"(target on the demo {RETRAIN_TO_SUGGESTIONS_TARGET_S:.0f} s)"
    )
    figures = {
        "file": args.file.name,
        "limit": args.limit,
        "products": Product.objects.count(),
        "labeled": len(datasets.labeled_product_ids()),
        "tags": len(datasets.tag_specs()),
        "trainings": [first, again],
        "scoring": scored,
        "retrain_to_suggestions_s": retrain_to_suggestions,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

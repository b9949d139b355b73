"""CPU cost of scoring the catalogue, per product, on one CPU thread: the figure
that sizes the scoring workers in docs/scaling.md.

    .venv/bin/python bench/scoring_cost.py [--products 512]

Uses the load benchmark's database (`tagger_load`, built by bench/load.py) and
its zero-shot version with the packaged all-MiniLM-L6-v2 encoder. Measures, in
CPU seconds (so other jobs on a shared machine do not distort it):

  encode    predict_proba with an empty embedding cache (tokenise + encoder)
  cached    predict_proba again: the embeddings come from the cache
  evidence  predict (scores + the evidence spans), embeddings cached
  write     training.services.scoring.score_products: predict + Suggestion rows

Writes bench/out/scoring_cost.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=512)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tagger_load")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="tagger-scoring-cost-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tagger.settings",
        SECRET_KEY="scoring-cost-bench-only",
        DATABASE_URL=args.database_url,
        TAGGER_VAR_DIR=str(OUT / "load-var"),
        TAGGER_CACHE_DIR=cache,
        TAGGER_TORCH_THREADS="1",
        CELERY_TASK_ALWAYS_EAGER="true",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from annotation.models import Product
    from training.models import ModelVersion
    from training.services import scoring, versions

    version = ModelVersion.objects.filter(mode="zero_shot").exclude(status="failed").first()
    if version is None:
        raise SystemExit("no zero-shot version: run bench/load.py first")
    model = versions.load_model(version)
    products = list(Product.objects.order_by("-pk")[: args.products + 8])
    texts = [p.model_text for p in products]
    model.predict_proba(texts[-8:])  # warm-up: lazy imports, first allocations
    texts, ids = texts[: args.products], [p.pk for p in products[: args.products]]
    runs = {
        "encode": _timed(lambda: model.predict_proba(texts)),
        "cached": _timed(lambda: model.predict_proba(texts)),
        "evidence": _timed(lambda: model.predict(texts, min_score=0.0)),
        "write": _timed(lambda: scoring.score_products(version, ids)),
    }
    n = len(texts)
    characters = sum(len(t) for t in texts) / n
    result = {
        "benchmark": "scoring_cost",
        "command": ".venv/bin/python bench/scoring_cost.py " + " ".join(sys.argv[1:]),
        "products": n,
        "mean_characters_per_product": round(characters, 1),
        "model": f"v{version.pk} {version.mode} ({version.base_model or 'packaged MiniLM'})",
        "torch_threads": 1,
        "steps": {
            name: {
                "wall_seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "products_per_cpu_second": round(n / cpu, 1) if cpu else None,
            }
            for name, (wall, cpu) in runs.items()
        },
        "load_average": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    for name, step in result["steps"].items():
        print(f"{name:9s} {step['products_per_cpu_second']} products per CPU second")
    out = OUT / "scoring_cost.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Tagging quality on the three shared data sets, head mode on the CPU, against
the reference TF-IDF + logistic-regression baseline trained in the same run.

Split: the products that have tags, random.Random(0).shuffle, first 80% train,
rest test (the split of ../shared/data/README.md).

    .venv/bin/python bench/quality.py [--datasets NAME ...]

Prints a table, writes bench/out/quality.json and rewrites the "## Model quality"
section of docs/benchmarks.md.
"""

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.ml.data import load_examples  # noqa: E402
from training.ml.evaluation import evaluate_holdout, holdout_split  # noqa: E402
from training.ml.model import TrainConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
CACHE = OUT / "cache"
DATASETS = ["en_myntra_fashion_15k", "en_flipkart_1k", "zh_openbg_taobao"]
COMMAND = ".venv/bin/python bench/quality.py"


def machine() -> str:
    """The machine in words, e.g. "2-core CPU, no GPU"."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cores}-core CPU ({platform.processor() or platform.machine()}), {gpu}"


def write_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace the `## title` section of docs/benchmarks.md (up to the next `## `
    heading), or append it; other sections are left as they are."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def run(name: str) -> dict:
    path = DATA / f"{name}.jsonl.gz"
    train, test = holdout_split(load_examples(path), 0.8, seed=0)
    config = TrainConfig(mode="head", device="cpu", cache_dir=CACHE, seed=0)
    print(f"{name}: {len(train)} train, {len(test)} test", flush=True)
    started = time.monotonic()
    result = evaluate_holdout(train, test, config)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def table(results: dict[str, dict]) -> str:
    lines = [
        "| dataset | n_train | n_test | micro-F1 | macro-F1 | coverage | baseline micro-F1 "
        "| baseline macro-F1 | baseline coverage | seconds (train + predict) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        b = r["baseline"]
        lines.append(
            f"| {name} | {r['n_train']} | {r['n_test']} | {r['micro_f1']:.4f} | "
            f"{r['macro_f1']:.4f} | {r['coverage']:.3f} | {b['micro_f1']:.4f} | "
            f"{b['macro_f1']:.4f} | {b['coverage']:.3f} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    args = parser.parse_args()
    missing = [n for n in args.datasets if not (DATA / f"{n}.jsonl.gz").exists()]
    if missing:
        sys.exit(f"{DATA} lacks {missing}: put the shared data beside the project")

    results = {name: run(name) for name in args.datasets}
    where = machine()
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {
        "command": COMMAND,
        "machine": where,
        "results": results,
    }
    (OUT / "quality.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(table(results))

    body = f"""
Head mode (frozen all-MiniLM-L6-v2 embeddings, cached, plus word 1-2-gram and
character n-gram TF-IDF, into an ensemble of two small networks with one softmax
per single-valued facet, blended per facet with a nearest-neighbour vote over
the training products and a vote of the tag names and aliases found in the
text; inside single-valued facets, rare tags raised by post-hoc logit
adjustment; blend weights, the adjustment and per-tag thresholds tuned on a 15%
validation split, then refit on all training data) against the reference
baseline of `../shared/data/README.md`
(TF-IDF word 1-2-grams, character 1-3-grams for Chinese, one-vs-rest logistic
regression C=10, threshold 0.3), trained and tested in the same run.

Split: the products that have tags, `random.Random(0).shuffle`, first 80% train,
the rest test. Tags that occur only in the test set stay in the evaluation as
misses. Macro-F1 averages over tags present in the test set or predicted in it;
coverage is the share of test-set tags predicted correctly at least once
(definitions in `training/ml/metrics.py`). Seconds: training (embeddings were
already cached: the first run embeds every text once) plus predicting the test set.

{table(results)}

Command: `{COMMAND}` (writes `bench/out/quality.json`).
Machine: {where}; shared with other jobs while measured, so seconds are upper bounds.
"""
    write_section("Model quality", body)
    print(f"wrote {OUT / 'quality.json'} and {DOC}")


if __name__ == "__main__":
    main()

"""Where the default model's errors are, facet by facet, on the shared data sets.

Head mode with bench/quality.py's split and TrainConfig (seed 0), so the totals
are that bench's micro-F1. Per facet (the part of a tag key before ":"):

- support, predictions, precision, recall, F1, false negatives and false positives,
  and the facet's share of all the errors;
- "micro-F1 without it": micro-F1 with that facet's errors taken away, what the
  rest of the model would reach if this facet were perfect;
- "FP, facet unlabelled": false positives on products that carry no tag of that
  facet at all (a facet a data set labels only on some products);
- "repeated titles": test products whose exact text is also a training product's,
  and of those, how many carry another set of this facet's tags there. Those
  labels disagree with each other, so no model reading the text gets both right.

    .venv/bin/python bench/errors.py [--datasets NAME ...]

Prints a table per data set, writes bench/out/errors.json and rewrites the
"## Where the errors are" section of docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import CACHE, DATA, DATASETS, DOC, OUT, machine, write_section  # noqa: E402
from training.ml.data import Example, load_examples  # noqa: E402
from training.ml.evaluation import holdout_predictions, holdout_split, widen  # noqa: E402
from training.ml.metrics import binarize, prf  # noqa: E402
from training.ml.model import TrainConfig  # noqa: E402
from training.ml.types import TagSpec  # noqa: E402

COMMAND = ".venv/bin/python bench/errors.py"
TITLE = "Where the errors are"


def _of(tags: Sequence[str] | set[str], facet: str) -> set[str]:
    return {t for t in tags if TagSpec.from_key(t).facet == facet}


def facet_errors(
    train: Sequence[Example], test: Sequence[Example], vocab: Sequence[str], pred: np.ndarray
) -> dict:
    """The errors of `pred` (boolean, test products x vocab) on `test`, facet by
    facet, with the repeated titles of `train`. Test tags outside vocab count as
    misses, as in evaluation.evaluate_holdout."""
    full = sorted(set(vocab) | {t for e in test for t in e.tags})
    truth = binarize([e.tags for e in test], full)
    decided = widen(pred, vocab, full)
    facets = [TagSpec.from_key(key).facet for key in full]
    seen: dict[str, list[set[str]]] = defaultdict(list)
    for e in train:
        seen[e.text].append(set(e.tags))

    tp = (truth & decided).sum(axis=0)
    fp = (~truth & decided).sum(axis=0)
    fn = (truth & ~decided).sum(axis=0)
    total = {"tp": int(tp.sum()), "fp": int(fp.sum()), "fn": int(fn.sum())}
    errors = total["fp"] + total["fn"]
    repeats = [e for e in test if e.text in seen]
    rows = []
    for facet in sorted(set(facets)):
        cols = np.array([f == facet for f in facets])
        f_tp, f_fp, f_fn = int(tp[cols].sum()), int(fp[cols].sum()), int(fn[cols].sum())
        precision, recall, f1 = prf(f_tp, f_fp, f_fn)
        unlabelled = ~truth[:, cols].any(axis=1)
        conflicting = sum(
            any(_of(tags, facet) != _of(e.tags, facet) for tags in seen[e.text]) for e in repeats
        )
        rows.append(
            {
                "facet": facet,
                "tags": int(cols.sum()),
                "support": f_tp + f_fn,
                "predicted": f_tp + f_fp,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "fn": f_fn,
                "fp": f_fp,
                "error_share": (f_fp + f_fn) / errors if errors else 0.0,
                "micro_f1_without": prf(total["tp"] + f_fn, total["fp"] - f_fp, total["fn"] - f_fn)[
                    2
                ],
                "fp_facet_unlabelled": int(decided[unlabelled][:, cols].sum()),
                "repeated_titles": len(repeats),
                "repeated_conflicting": conflicting,
            }
        )
    rows.sort(key=lambda r: -(r["fp"] + r["fn"]))
    return {
        "micro_f1": prf(total["tp"], total["fp"], total["fn"])[2],
        **total,
        "n_test": len(test),
        "facets": rows,
    }


def run(name: str) -> dict:
    train, test = holdout_split(load_examples(DATA / f"{name}.jsonl.gz"), 0.8, seed=0)
    config = TrainConfig(mode="head", device="cpu", cache_dir=CACHE, seed=0)
    print(f"{name}: {len(train)} train, {len(test)} test", flush=True)
    started = time.monotonic()
    predicted = holdout_predictions(train, test, config)
    result = facet_errors(train, test, predicted["vocab"], predicted["pred"])
    result.update(
        encoder=predicted["info"].get("encoder", ""),
        n_train=len(train),
        wall_seconds=round(time.monotonic() - started, 1),
    )
    return result


def table(result: dict) -> str:
    lines = [
        "| facet | tags | support | predicted | precision | recall | F1 | FN | FP "
        "| share of errors | micro-F1 without it | FP, facet unlabelled "
        "| repeated titles, labels differ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["facets"]:
        lines.append(
            f"| {r['facet']} | {r['tags']} | {r['support']} | {r['predicted']} "
            f"| {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['fn']} "
            f"| {r['fp']} | {r['error_share']:.1%} | {r['micro_f1_without']:.4f} "
            f"| {r['fp_facet_unlabelled']} "
            f"| {r['repeated_conflicting']} of {r['repeated_titles']} |"
        )
    return "\n".join(lines)


def markdown(results: dict[str, dict], command: str, where: str) -> str:
    parts = [
        "Head mode, the default, with bench/quality.py's split and training (seed 0): the",
        'errors behind the micro-F1 of "Model quality", facet by facet. "micro-F1 without',
        'it" is the micro-F1 with that facet\'s errors taken away; "FP, facet unlabelled"',
        "counts false positives on products that carry no tag of the facet at all;",
        '"repeated titles, labels differ" counts test products whose exact text is also',
        "a training product's (second figure) and whose tags of this facet differ there",
        "(first figure): labels no model reading the text can all get right.",
    ]
    for name, r in results.items():
        parts += [
            "",
            f"### {name} ({r['encoder']}, {r['n_train']} train, {r['n_test']} test, "
            f"micro-F1 {r['micro_f1']:.4f}: {r['fn']} false negatives, {r['fp']} false positives)",
            "",
            table(r),
        ]
    parts += ["", f"Command: `{command}` (writes `bench/out/errors.json`).", f"Machine: {where}."]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="the Markdown file whose section is rewritten"
    )
    args = parser.parse_args()
    missing = [n for n in args.datasets if not (DATA / f"{n}.jsonl.gz").exists()]
    if missing:
        sys.exit(f"{DATA} lacks {missing}: put the shared data beside the project")
    results = {}
    for name in args.datasets:
        results[name] = run(name)
        print(table(results[name]), flush=True)
    command = COMMAND
    if args.datasets != DATASETS:
        command += " --datasets " + " ".join(args.datasets)
    where = machine()
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {"command": command, "machine": where, "results": results}
    (OUT / "errors.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    write_section(TITLE, markdown(results, command, where), args.doc)


if __name__ == "__main__":
    main()

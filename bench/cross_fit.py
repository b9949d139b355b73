"""Head mode's tuning on cross-fitted scores against tuning on the 15% validation
split, side by side on the split of bench/quality.py, over several seeds.

    .venv/bin/python bench/cross_fit.py [--datasets en_flipkart_1k zh_openbg_taobao]
        [--seeds 0 1] [--folds 5]

Training sets of at most training.ml.fitting.CROSS_FIT_MAX products tune the
votes' blend, the rare-tag boost, the calibration and the thresholds on
cross-fitted scores (every product scored once by heads fitted without it);
`--folds 0` is the single split used before. Each dataset is trained with the
encoder its language gets by default, with both settings and every seed, in the
same run. Prints a table, writes bench/out/cross_fit.json and rewrites the
"## Cross-fitted tuning" section of docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quality import CACHE, DATA, DOC, OUT, machine, write_section  # noqa: E402

from training.ml.data import load_examples  # noqa: E402
from training.ml.evaluation import evaluate_holdout, holdout_split  # noqa: E402
from training.ml.fitting import CROSS_FIT_MAX  # noqa: E402
from training.ml.model import TrainConfig  # noqa: E402

TITLE = "Cross-fitted tuning"
SMALL_SETS = ["en_flipkart_1k", "zh_openbg_taobao"]


def measure(name: str, seeds: list[int], folds: int) -> dict:
    train, test = holdout_split(load_examples(DATA / f"{name}.jsonl.gz"), 0.8, seed=0)
    runs = []
    for seed in seeds:
        for setting in (0, folds):
            config = TrainConfig(
                mode="head", device="cpu", cache_dir=CACHE, seed=seed, tuning_folds=setting
            )
            print(f"{name}: seed {seed}, folds {setting}", flush=True)
            started = time.monotonic()
            result = evaluate_holdout(train, test, config, with_baseline=False)
            runs.append(
                {
                    "seed": seed,
                    "folds": setting,
                    "micro_f1": result["micro_f1"],
                    "macro_f1": result["macro_f1"],
                    "coverage": result["coverage"],
                    "train_seconds": result["train_seconds"],
                    "wall_seconds": round(time.monotonic() - started, 1),
                    "encoder": result["training"].get("encoder"),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
    return {"n_train": len(train), "n_test": len(test), "runs": runs}


def mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def table(results: dict, folds: int) -> str:
    lines = [
        "| dataset | encoder | n_train / n_test | seed | micro-F1, split | micro-F1, "
        f"{folds} folds | macro-F1, split | macro-F1, {folds} folds | training s, split | "
        f"training s, {folds} folds |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        runs = result["runs"]
        seeds = sorted({r["seed"] for r in runs})
        rows = [(str(s), [r for r in runs if r["seed"] == s]) for s in seeds]
        rows.append(("mean", runs))
        for label, group in rows:
            old = [r for r in group if r["folds"] == 0]
            new = [r for r in group if r["folds"] != 0]
            bold = "**" if label == "mean" else ""
            lines.append(
                f"| {name} | {runs[0]['encoder']} | {result['n_train']} / {result['n_test']} | "
                f"{bold}{label}{bold} | {mean(old, 'micro_f1'):.4f} | "
                f"{bold}{mean(new, 'micro_f1'):.4f}{bold} | {mean(old, 'macro_f1'):.4f} | "
                f"{bold}{mean(new, 'macro_f1'):.4f}{bold} | {mean(old, 'train_seconds'):.0f} | "
                f"{mean(new, 'train_seconds'):.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=SMALL_SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=OUT / "cross_fit.json")
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args()
    missing = [n for n in args.datasets if not (DATA / f"{n}.jsonl.gz").exists()]
    if missing:
        sys.exit(f"{DATA} lacks {missing}: put the shared data beside the project")
    results = {name: measure(name, args.seeds, args.folds) for name in args.datasets}
    command = (
        "python bench/cross_fit.py --datasets "
        + " ".join(args.datasets)
        + " --seeds "
        + " ".join(map(str, args.seeds))
        + f" --folds {args.folds}"
    )
    summary = {"command": command, "machine": machine(), "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    body = table(results, args.folds)
    print(body)
    write_section(
        TITLE,
        f"""Head mode tunes the neighbour and name votes' blend, the rare-tag boost, the
per-tag calibration and the thresholds on scores of products the heads did not
train on. Before, those were the 15% validation split (about 120 products on
Flipkart, 270 on OpenBG: most tags had too few positives there for a threshold
of their own). Now, on training sets of at most {CROSS_FIT_MAX:,} products, every
product is scored once by heads fitted on the other folds ({args.folds} folds),
and all of them tune; the refit on everything trains for the folds' mean epochs
(`training/ml/fitting.py`, `tuning_folds`). Larger sets (Myntra's 12,000) keep the
single split: there the validation part is already 1,800 products, and the extra
fits would cost most. Full mode after LoRA tunes the same way (measured in
"Rows missing, and the targets"); after full updates on CUDA it keeps the split.

Same split as "Model quality", the encoder each language gets by default, test
set untouched; "split" is the old tuning, "{args.folds} folds" the new, trained
in the same run with each seed (the seed moves the heads' initialisation, the
validation split and the folds). Seconds: training only, embeddings cached.

{body}

Command: `{command}` (writes `bench/out/cross_fit.json`).
Machine: {summary["machine"]}; shared with other jobs while measured.
""",
        args.doc,
    )


if __name__ == "__main__":
    main()

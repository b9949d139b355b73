"""What the free tags' thresholds are tuned for: each tag's own F1 alone, or that
plus a weighted share of the pooled (micro) F1 (`ThresholdPolicy.micro_weight`,
training/ml/thresholds.py), side by side on the split of bench/quality.py.

    .venv/bin/python bench/threshold_objective.py [--datasets ...] [--seeds 0 1 2]
        [--modes head full] [--weights 0 0.1 0.25 0.5]

Each dataset, seed and mode trains once, with the encoder its language gets, and
records the scores and labels its thresholds are tuned on (cross-fitted or the
validation split, calibrated, as training.ml.fitting.tune receives them). Every
weight then tunes thresholds on those same scores and decides the same test
scores: the weights differ only in the thresholds. Prints a table, writes
bench/out/threshold_objective.json and rewrites the "## Threshold objective"
section of docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoders import config_for  # noqa: E402
from quality import DATA, DOC, OUT, machine, write_section  # noqa: E402

from training.ml import fitting  # noqa: E402
from training.ml.data import load_examples, tag_specs_from_examples  # noqa: E402
from training.ml.encoder import default_base_model  # noqa: E402
from training.ml.evaluation import holdout_split, widen  # noqa: E402
from training.ml.metrics import binarize, multilabel_metrics  # noqa: E402
from training.ml.model import TrainConfig, train_tagger  # noqa: E402
from training.ml.thresholds import MICRO_WEIGHT  # noqa: E402

TITLE = "Threshold objective"
DATASETS = ["en_flipkart_1k", "zh_openbg_taobao"]


@contextmanager
def recording_tuning() -> Iterator[dict]:
    """Within it, the last scores, labels and tags training.ml.fitting.tune was
    given are kept in the dict it yields."""
    recorded: dict = {}
    tune = fitting.tune

    def record(proba, Y, tags, config):  # type: ignore[no-untyped-def]
        recorded.update(proba=np.array(proba), Y=np.asarray(Y, dtype=bool), tags=tags)
        return tune(proba, Y, tags, config)

    fitting.tune = record
    try:
        yield recorded
    finally:
        fitting.tune = tune


def config_of(mode: str, seed: int, texts: list[str]) -> TrainConfig:
    """The mode's CPU default (bench/encoders.py) with the encoder the texts'
    language gets."""
    return replace(config_for(mode, "minilm"), base_model=default_base_model(texts), seed=seed)


def measure(name: str, seeds: list[int], modes: list[str], weights: list[float]) -> dict:
    train, test = holdout_split(load_examples(DATA / f"{name}.jsonl.gz"), 0.8, seed=0)
    texts = [e.text for e in train]
    tags = tag_specs_from_examples(train)
    vocab = [t.key for t in tags]
    full_vocab = sorted(set(vocab) | {t for e in test for t in e.tags})
    truth = binarize([e.tags for e in test], full_vocab)
    runs = []
    for mode in modes:
        for seed in seeds:
            config = config_of(mode, seed, texts)
            print(f"{name}: {mode}, seed {seed}", flush=True)
            started = time.monotonic()
            with recording_tuning() as tuned_on:
                model = train_tagger(texts, [e.tags for e in train], tags, config)
            proba = model.predict_proba([e.text for e in test])
            seconds = round(time.monotonic() - started, 1)
            for weight in weights:
                policy = replace(config.thresholds, micro_weight=weight)
                model.thresholds = fitting.tune(
                    tuned_on["proba"], tuned_on["Y"], tuned_on["tags"],
                    replace(config, thresholds=policy),
                )  # fmt: skip
                pred = widen(model.decide(proba), vocab, full_vocab)
                metrics = multilabel_metrics(truth, pred, full_vocab)
                runs.append(
                    {
                        "mode": mode,
                        "seed": seed,
                        "weight": weight,
                        "micro_f1": metrics["micro_f1"],
                        "macro_f1": metrics["macro_f1"],
                        "micro_precision": metrics["micro_precision"],
                        "micro_recall": metrics["micro_recall"],
                        "seconds": seconds,
                        "encoder": model.info.get("encoder", ""),
                    }
                )
                print(json.dumps(runs[-1]), flush=True)
    return {"n_train": len(train), "n_test": len(test), "runs": runs}


def merged(earlier: dict, new: dict) -> dict:
    """The runs of both, a new run replacing an earlier one of the same dataset,
    mode, seed and weight."""

    def key(run: dict) -> tuple:
        return run["mode"], run["seed"], run["weight"]

    out = {name: dict(result) for name, result in earlier.items()}
    for name, result in new.items():
        redone = {key(r) for r in result["runs"]}
        kept = [r for r in out.get(name, {}).get("runs", []) if key(r) not in redone]
        out[name] = {**result, "runs": kept + result["runs"]}
    return out


def mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def table(results: dict, weights: list[float]) -> str:
    head = " | ".join(f"w = {w:g}" for w in weights)
    lines = [
        f"| dataset | encoder | mode | seed | {head} |",
        "|---|---|---|---|" + "---:|" * len(weights),
    ]
    for name, result in results.items():
        runs = result["runs"]
        for mode in sorted({r["mode"] for r in runs}, key=["head", "full"].index):
            of_mode = [r for r in runs if r["mode"] == mode]
            seeds = sorted({r["seed"] for r in of_mode})
            groups = [(str(s), [r for r in of_mode if r["seed"] == s]) for s in seeds]
            groups.append(("mean", of_mode))
            for label, group in groups:
                cells = []
                for w in weights:
                    rows = [r for r in group if r["weight"] == w]
                    if not rows:
                        cells.append("")
                        continue
                    cells.append(
                        f"{mean(rows, 'micro_f1'):.4f} / {mean(rows, 'macro_f1'):.4f} "
                        f"(P {mean(rows, 'micro_precision'):.3f})"
                    )
                bold = "**" if label == "mean" else ""
                lines.append(
                    f"| {name} | {of_mode[0]['encoder']} | {mode} | {bold}{label}{bold} | "
                    + " | ".join(cells)
                    + " |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", default=["head"], choices=["head", "full"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.1, 0.25, 0.5])
    parser.add_argument("--json", type=Path, default=OUT / "threshold_objective.json")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs of the JSON file that this run does not redo (another "
        "dataset, mode, seed or weight), and tabulate them all",
    )
    args = parser.parse_args()
    missing = [n for n in args.datasets if not (DATA / f"{n}.jsonl.gz").exists()]
    if missing:
        sys.exit(f"{DATA} lacks {missing}: put the shared data beside the project")
    results = {n: measure(n, args.seeds, args.modes, args.weights) for n in args.datasets}
    commands = []
    if args.merge and args.json.exists():
        earlier = json.loads(args.json.read_text())
        results = merged(earlier["results"], results)
        commands = earlier["commands"]
    command = (
        "python bench/threshold_objective.py --datasets "
        + " ".join(args.datasets)
        + " --seeds "
        + " ".join(map(str, args.seeds))
        + " --modes "
        + " ".join(args.modes)
        + " --weights "
        + " ".join(f"{w:g}" for w in args.weights)
        + (" --merge" if args.merge else "")
    )
    commands = [c for c in commands if c != command] + [command]
    summary = {"commands": commands, "machine": machine(), "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    weights = sorted({r["weight"] for result in results.values() for r in result["runs"]})
    body = table(results, weights)
    print(body)
    write_section(
        TITLE,
        f"""A free tag's threshold (one outside a single-valued facet) is tuned on its own
F1, shrunk towards its facet's; with a micro weight w it maximises its own F1
divided by the number of tags plus w times its share in the pooled F1 of all
free tags (`ThresholdPolicy.micro_weight`, `training/ml/thresholds.py`; the
default is w = {MICRO_WEIGHT:g}). Each cell: micro-F1 / macro-F1 (micro-precision) on
the test part, the same trained model and test scores for every w (only the
thresholds differ), the split of "Model quality", the encoder each language
gets by default. Single-valued facets (all of Myntra's) are decided by
argmax and a facet threshold, which w does not touch.

{body}

Commands: {", ".join(f"`{c}`" for c in commands)} (write
`bench/out/threshold_objective.json`; `--merge` keeps the earlier runs).
Machine: {summary["machine"]}; shared with other jobs while measured.
""",
        args.doc,
    )


if __name__ == "__main__":
    main()

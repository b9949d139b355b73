"""Active-learning benchmark: every query strategy against random on the shared
catalogues, a few seeds each, through training/ml/simulate.py.

    .venv/bin/python bench/active_learning.py                       # the full run
    .venv/bin/python bench/active_learning.py --datasets flipkart --seeds 1 \\
        --rounds 3 --strategies random,default --no-docs            # a quick look

Split as in ../shared/data/README.md: the products with tags, random.Random(0)
shuffled, the first 80% the pool, the rest the test set. Writes
bench/out/active_learning.json, docs/active_learning_<dataset>.png and the
"## Active learning" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.ml.data import load_examples  # noqa: E402
from training.ml.evaluation import holdout_split  # noqa: E402
from training.ml.sampling import DEFAULT_STRATEGY, STRATEGIES  # noqa: E402
from training.ml.simulate import (  # noqa: E402
    SimulationConfig,
    full_pool_reference,
    prepare,
    simulate,
)

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
DOCS = ROOT / "docs"
TARGET_SHARE = 0.95  # of the full-pool micro-F1
SECTION = "## Active learning"

# Flipkart's pool is ~800 products: smaller steps, and it is read at 500 labels
# (every strategy ties once the whole pool is labeled).
DATASETS = {
    "myntra": {"file": "en_myntra_fashion_15k.jsonl.gz", "initial": 100, "batch": 100,
               "rounds": 20, "tags_at": 1000},
    "flipkart": {"file": "en_flipkart_1k.jsonl.gz", "initial": 50, "batch": 50,
                 "rounds": 9, "tags_at": None},
}  # fmt: skip
BENCH_STRATEGIES = [name for name in STRATEGIES if name != "default"]


def labels_to_reach(curve: list[dict], target: float) -> float | None:
    """Labels at which micro-F1 first reaches target, interpolated linearly between
    the two curve points around the crossing; None when it never does."""
    previous = None
    for point in curve:
        if point["micro_f1"] >= target:
            if previous is None:
                return float(point["labels"])
            x0, y0 = previous["labels"], previous["micro_f1"]
            x1, y1 = point["labels"], point["micro_f1"]
            return x0 + (x1 - x0) * (target - y0) / (y1 - y0)
        previous = point
    return None


def mean_curve(runs: list[dict]) -> list[dict]:
    length = min(len(r["curve"]) for r in runs)
    keys = ("micro_f1", "macro_f1", "tags_with_1_positive", "tags_with_5_positives")
    out = []
    for i in range(length):
        points = [r["curve"][i] for r in runs]
        row = {"labels": points[0]["labels"]}
        for key in keys:
            values = [p[key] for p in points]
            row[key] = round(float(np.mean(values)), 4)
            row[f"{key}_min"], row[f"{key}_max"] = min(values), max(values)
        out.append(row)
    return out


def oracle_tags5(Y: np.ndarray, initial: int, labels: int, seed: int) -> int:
    """Tags with >= 5 positives after `labels` labels when every query knows the
    answers: greedily the product carrying most tags still under 5. A ceiling for
    the long-tail figure, which no strategy can reach from scores alone."""
    Y = Y.astype(np.int64)
    chosen = np.random.default_rng(seed).choice(len(Y), size=initial, replace=False)
    counts = Y[chosen].sum(axis=0)
    free = np.ones(len(Y), dtype=bool)
    free[chosen] = False
    for _ in range(min(labels, len(Y)) - initial):
        gain = np.where(free, Y @ (counts < 5), -1)
        best = int(np.argmax(gain))
        free[best] = False
        counts += Y[best]
    return int((counts >= 5).sum())


def point_at(curve: list[dict], labels: int | None) -> dict:
    if labels is None:
        return curve[-1]
    return min(curve, key=lambda p: abs(p["labels"] - labels))


def summarise(name: str, spec: dict, full: dict, runs: dict[str, list[dict]]) -> dict:
    target = TARGET_SHARE * full["micro_f1"]
    rows = {}
    for strategy, seeds in runs.items():
        curve = mean_curve(seeds)
        per_seed = [labels_to_reach(r["curve"], target) for r in seeds]
        at = point_at(curve, spec["tags_at"])
        rows[strategy] = {
            "labels_to_target": labels_to_reach(curve, target),
            "labels_to_target_per_seed": per_seed,
            "tags5_labels": at["labels"],
            "tags_with_5_positives": at["tags_with_5_positives"],
            "micro_f1_at_tags5": at["micro_f1"],
            "final_micro_f1": curve[-1]["micro_f1"],
            "final_macro_f1": curve[-1]["macro_f1"],
            "seconds_per_run": round(float(np.mean([r["seconds"] for r in seeds])), 1),
            "curve": curve,
        }
    base = rows.get("random")
    for row in rows.values():
        if base and base["labels_to_target"] and row["labels_to_target"]:
            row["labels_vs_random"] = round(row["labels_to_target"] / base["labels_to_target"], 3)
        if base and base["tags_with_5_positives"]:
            row["tags5_vs_random"] = round(
                row["tags_with_5_positives"] / base["tags_with_5_positives"], 3
            )
    return {
        "dataset": name,
        "full_pool": full,
        "target_micro_f1": round(target, 4),
        "strategies": rows,
    }


def plot(name: str, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_f1, ax_tags) = plt.subplots(1, 2, figsize=(12, 4.5))
    for strategy, row in summary["strategies"].items():
        curve = row["curve"]
        x = [p["labels"] for p in curve]
        style = {"color": "black", "linewidth": 2.2} if strategy == "random" else {}
        if strategy == DEFAULT_STRATEGY:
            style = {"linewidth": 2.6}
        label = f"{strategy} (default)" if strategy == DEFAULT_STRATEGY else strategy
        line = ax_f1.plot(x, [p["micro_f1"] for p in curve], label=label, **style)[0]
        ax_f1.fill_between(
            x, [p["micro_f1_min"] for p in curve], [p["micro_f1_max"] for p in curve],
            color=line.get_color(), alpha=0.12,
        )  # fmt: skip
        ax_tags.plot(x, [p["tags_with_5_positives"] for p in curve], label=label, **style)
    ax_f1.axhline(summary["target_micro_f1"], color="grey", linestyle="--", linewidth=1)
    ax_f1.axhline(summary["full_pool"]["micro_f1"], color="grey", linestyle=":", linewidth=1)
    ax_f1.set_title(f"{name}: test micro-F1 (dashed: 95% of full pool)")
    ax_f1.set_xlabel("labeled products")
    ax_f1.set_ylabel("micro-F1")
    ax_tags.set_title(f"{name}: tags with >= 5 labeled positives")
    ax_tags.set_xlabel("labeled products")
    ax_tags.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict, command: str) -> str:
    meta = results["machine"]
    lines = [
        SECTION,
        "",
        "Simulated active learning (`training/ml/simulate.py`, the fast trainer: a ridge "
        "linear model over the MiniLM embedding and a 256-d SVD of the TF-IDF channel, "
        "per-tag thresholds tuned on a validation split every round; single-valued "
        "facets decided by argmax). Pool/test: the README's 80/20 split; every strategy "
        "of a seed starts from the same random initial set. "
        f"{len(results['seeds'])} seeds per strategy; figures are seed means. `default` = "
        f"`{DEFAULT_STRATEGY}`.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {meta['cpu']}, no GPU; {meta['wall_minutes']} min wall for the whole run "
        "(the machine was shared with other jobs).",
        "",
    ]
    for name, summary in results["datasets"].items():
        spec = DATASETS[name]
        full = summary["full_pool"]
        at = "after 1,000 labels" if spec["tags_at"] else "at the end of the run"
        lines += [
            f"### {name} (initial {spec['initial']}, batch {spec['batch']}, "
            f"{summary['strategies'][next(iter(summary['strategies']))]['curve'][-1]['labels']}"
            " labels at the end)",
            "",
            f"Full-pool reference: micro-F1 {full['micro_f1']:.3f}, macro-F1 "
            f"{full['macro_f1']:.3f} ({full['labels']} labels); 95% target "
            f"{summary['target_micro_f1']:.3f}. Ceiling for the long-tail column (an "
            "oracle that knows every label and greedily picks the product carrying most "
            f"tags still under 5 positives): {summary['oracle_tags_with_5_positives']:.1f}.",
            "",
            f"| strategy | labels to 95% | vs random | tags with >= 5 positives {at} "
            "| vs random | micro-F1 at the end |",
            "|---|---|---|---|---|---|",
        ]
        for strategy, row in summary["strategies"].items():
            reached = row["labels_to_target"]
            label = f"**{strategy}** (default)" if strategy == DEFAULT_STRATEGY else strategy
            lines.append(
                f"| {label} | {f'{reached:.0f}' if reached else 'not reached'} "
                f"| {row.get('labels_vs_random', '–')} "
                f"| {row['tags_with_5_positives']:.1f} ({row['tags5_labels']} labels) "
                f"| {row.get('tags5_vs_random', '–')} | {row['final_micro_f1']:.3f} |"
            )
        lines += ["", verdict(summary, at), ""]
        lines += [f"![{name} learning curves](active_learning_{name}.png)", ""]
    return "\n".join(lines).rstrip() + "\n"


def verdict(summary: dict, at: str) -> str:
    """The default against the targets of issue #5, in words, from the numbers."""
    row = summary["strategies"].get(DEFAULT_STRATEGY)
    random_row = summary["strategies"].get("random")
    if not row or not random_row:
        return "(run `random` and the default strategy to compare them)"
    labels = row.get("labels_vs_random")
    tags = row.get("tags5_vs_random")
    ceiling = summary["oracle_tags_with_5_positives"] / max(random_row["tags_with_5_positives"], 1)
    words = [f"Targets for `default`: labels to 95% of the full-pool micro-F1 at most 0.6x "
             f"random's, measured {labels if labels is not None else 'n/a'}x "
             f"({'met' if labels is not None and labels <= 0.6 else 'missed'}); tags with "
             f">= 5 positives {at} at least 1.3x random's, measured {tags}x "
             f"({'met' if tags is not None and tags >= 1.3 else 'missed'}). The oracle "
             f"ceiling is {ceiling:.2f}x random's. One `default` run (every round's "
             f"training, scoring of the unlabeled pool and query) took "
             f"{row['seconds_per_run']:.0f} s on average."]  # fmt: skip
    return " ".join(words)


def write_section(path: Path, section: str) -> None:
    """Replace (or append) only the "## Active learning" section: other helpers own
    the rest of the file."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--rounds", type=int, default=None, help="override every dataset's")
    parser.add_argument("--strategies", default=",".join(BENCH_STRATEGIES))
    parser.add_argument("--cache-dir", type=Path, default=OUT / "cache")
    parser.add_argument("--out", type=Path, default=OUT / "active_learning.json")
    parser.add_argument("--no-docs", action="store_true", help="skip the plots and docs section")
    parser.add_argument("--docs-dir", type=Path, default=DOCS)
    parser.add_argument(
        "--from-json", type=Path, help="only redraw the plots and docs from an earlier --out"
    )
    args = parser.parse_args()

    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        write_docs(
            results, args.docs_dir, results.get("command", "python bench/active_learning.py")
        )
        return
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for strategy in strategies:
        if strategy not in STRATEGIES:
            parser.error(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if "random" not in strategies:
        strategies.insert(0, "random")  # every figure is relative to it
    seeds = list(range(args.seeds))
    started = time.monotonic()
    results: dict = {"seeds": seeds, "datasets": {}}
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        spec = dict(DATASETS[name])
        if args.rounds is not None:
            spec["rounds"] = args.rounds
        path = DATA / spec["file"]
        if not path.exists():
            print(f"skipping {name}: {path} not found")
            continue
        pool, test = holdout_split(load_examples(path))
        config = SimulationConfig(
            initial=spec["initial"], batch=spec["batch"], rounds=spec["rounds"],
            cache_dir=args.cache_dir,
        )  # fmt: skip
        print(f"{name}: pool {len(pool)}, test {len(test)}; preparing features", flush=True)
        data = prepare(pool, test, config)
        full = full_pool_reference(data, config)
        print(f"{name}: full pool micro-F1 {full['micro_f1']:.4f}", flush=True)
        runs: dict[str, list[dict]] = {}
        for strategy in strategies:
            for seed in seeds:
                config.strategy, config.seed = strategy, seed
                run = simulate(data, config)
                runs.setdefault(strategy, []).append(run)
                last = run["curve"][-1]
                print(
                    f"  {strategy:20s} seed {seed}: {last['labels']} labels micro-F1 "
                    f"{last['micro_f1']:.3f}, tags>=5 {last['tags_with_5_positives']} "
                    f"({run['seconds']:.0f} s)",
                    flush=True,
                )
        summary = summarise(name, spec, full, runs)
        at = summary["strategies"]["random"]["tags5_labels"]
        summary["oracle_tags_with_5_positives"] = round(
            float(np.mean([oracle_tags5(data.Y_pool, spec["initial"], at, s) for s in seeds])), 1
        )
        summary["runs"] = {s: [r["curve"] for r in rs] for s, rs in runs.items()}
        results["datasets"][name] = summary
        for strategy, row in summary["strategies"].items():
            print(
                f"{name} {strategy:20s} labels to 95%: {row['labels_to_target']} "
                f"(x{row.get('labels_vs_random')}), tags>=5 at {row['tags5_labels']}: "
                f"{row['tags_with_5_positives']} (x{row.get('tags5_vs_random')})"
            )
    results["command"] = " ".join(["python bench/active_learning.py", *sys.argv[1:]])
    results["machine"] = {
        "cpu": f"{os.cpu_count()}-core CPU ({platform.machine()})",
        "wall_minutes": round((time.monotonic() - started) / 60, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if not args.no_docs and results["datasets"]:
        write_docs(results, args.docs_dir, results["command"])


def write_docs(results: dict, docs_dir: Path, command: str) -> None:
    for name, summary in results["datasets"].items():
        plot(name, summary, docs_dir / f"active_learning_{name}.png")
    write_section(docs_dir / "benchmarks.md", markdown(results, command))
    print(f"wrote {docs_dir / 'benchmarks.md'} and the plots")


if __name__ == "__main__":
    main()

"""Tagging quality on the three shared data sets, head mode on the CPU, against
the reference TF-IDF + logistic-regression baseline trained in the same run.

Split: the products that have tags, random.Random(0).shuffle, first 80% train,
rest test (the split of ../shared/data/README.md).

    .venv/bin/python bench/quality.py [--datasets NAME ...] [--compare-old]

--compare-old also trains the model under the rules from before issue #17
(TrainConfig.legacy(): raw scores, thresholds with no floor, support or
shrinkage) and scores the zero-shot model under its old rules
(zero_shot.LEGACY_CALIBRATION), so that before and after come from the same run;
with it, the section also carries the reliability of the scores (observed
precision per score bin, expected calibration error) and the zero-shot figures.

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

from bench.host import cpu_model  # noqa: E402
from training.ml.data import load_examples  # noqa: E402
from training.ml.encoder import minilm_base_model  # noqa: E402
from training.ml.evaluation import (  # noqa: E402
    evaluate_holdout,
    evaluate_zero_shot,
    holdout_split,
)
from training.ml.model import TrainConfig  # noqa: E402
from training.ml.zero_shot import LEGACY_CALIBRATION  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
CACHE = OUT / "cache"
DATASETS = ["en_myntra_fashion_15k", "en_flipkart_1k", "zh_openbg_taobao"]
COMMAND = ".venv/bin/python bench/quality.py --compare-old"


def machine() -> str:
    """The machine in words, e.g. "2-core CPU (AMD EPYC, x86_64, bf16 by AVX512_BF16),
    no GPU": figures move with the CPU's bfloat16 hardware (training.ml.encoder)."""
    import torch

    from training.ml.encoder import cpu_bf16_kind

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    kind = cpu_bf16_kind()
    bf16 = f"bf16 by {kind.upper()}" if kind else "no bf16 hardware"
    return f"{cores}-core CPU ({cpu_model()}, {platform.machine()}, {bf16}), {gpu}"


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


def run(name: str, compare_old: bool = False) -> dict:
    path = DATA / f"{name}.jsonl.gz"
    train, test = holdout_split(load_examples(path), 0.8, seed=0)
    config = TrainConfig(mode="head", device="cpu", cache_dir=CACHE, seed=0)
    print(f"{name}: {len(train)} train, {len(test)} test", flush=True)
    started = time.monotonic()
    result = evaluate_holdout(train, test, config)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    if compare_old:
        print(f"{name}: the old rules", flush=True)
        result["old"] = evaluate_holdout(train, test, config.legacy(), with_baseline=False)
        print(f"{name}: zero-shot", flush=True)
        result["zero_shot"] = {
            "old": evaluate_zero_shot(
                train, test, cache_dir=CACHE, use_labels=False, calibration=LEGACY_CALIBRATION
            ),
            "new_no_labels": evaluate_zero_shot(train, test, cache_dir=CACHE, use_labels=False),
            "new": evaluate_zero_shot(train, test, cache_dir=CACHE),
        }
        if result["zero_shot"]["new"]["encoder"] != "all-MiniLM-L6-v2":
            # Side by side: the same rules with the English encoder, which every
            # catalogue's zero-shot start used before.
            result["zero_shot"]["new_minilm"] = evaluate_zero_shot(
                train, test, base_model=minilm_base_model(), cache_dir=CACHE
            )
        result["reliability"] = reliability_summary(result)
    return result


def table(results: dict[str, dict]) -> str:
    lines = [
        "| dataset | encoder | n_train | n_test | micro-F1 | macro-F1 | coverage "
        "| baseline micro-F1 | baseline macro-F1 | baseline coverage | seconds (train + predict) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        b = r["baseline"]
        encoder = r["training"].get("encoder", "")
        lines.append(
            f"| {name} | {encoder} | {r['n_train']} | {r['n_test']} | {r['micro_f1']:.4f} | "
            f"{r['macro_f1']:.4f} | {r['coverage']:.3f} | {b['micro_f1']:.4f} | "
            f"{b['macro_f1']:.4f} | {b['coverage']:.3f} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def compare_table(results: dict[str, dict]) -> str:
    """Head mode before and after issue #17, same run, same split."""
    lines = [
        "| dataset | old micro-F1 | new micro-F1 | old macro-F1 | new macro-F1 | old coverage "
        "| new coverage | old tags/product | new tags/product | old ECE (selected) "
        "| new ECE (selected) | old ECE (shown) | new ECE (shown) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        o = r.get("old")
        if o is None:
            continue
        so, sn = o["scores"], r["scores"]
        lines.append(
            f"| {name} | {o['micro_f1']:.4f} | {r['micro_f1']:.4f} | {o['macro_f1']:.4f} | "
            f"{r['macro_f1']:.4f} | {o['coverage']:.3f} | {r['coverage']:.3f} | "
            f"{so['tags_per_product']:.2f} | {sn['tags_per_product']:.2f} | "
            f"{so['ece_selected']:.3f} | {sn['ece_selected']:.3f} | "
            f"{so['ece_shown']:.3f} | {sn['ece_shown']:.3f} |"
        )
    return "\n".join(lines)


# Reliability target of issue #17: in every score bin with at least MIN_BIN_PAIRS
# selected pairs, observed precision within MAX_BIN_GAP of the mean score.
MIN_BIN_PAIRS = 30
MAX_BIN_GAP = 0.05


def worst_gap(rows: list[dict], min_pairs: int = MIN_BIN_PAIRS) -> float:
    """The largest |observed precision - mean score| over bins with at least
    min_pairs pairs (0.0 when there are none)."""
    gaps = [abs(b["precision"] - b["mean_score"]) for b in rows if b["n"] >= min_pairs]
    return max(gaps, default=0.0)


def _bin_cells(rows: list[dict], low: float) -> str:
    row = next((b for b in rows if abs(b["low"] - low) < 1e-9), None)
    if row is None:
        return "0 | – | – | –"
    gap = abs(row["precision"] - row["mean_score"])
    return f"{row['n']} | {row['mean_score']:.3f} | {row['precision']:.3f} | {gap:.3f}"


def reliability_table(result: dict, which: str = "reliability_selected") -> str:
    """Observed precision per score bin, old scores against new ones."""
    old, new = result["old"]["scores"][which], result["scores"][which]
    lines = [
        "| score bin | old pairs | old mean score | old precision | old \\|gap\\| "
        "| new pairs | new mean score | new precision | new \\|gap\\| |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in range(10):
        low = k / 10
        lines.append(
            f"| {low:.1f}–{low + 0.1:.1f} | {_bin_cells(old, low)} | {_bin_cells(new, low)} |"
        )
    return "\n".join(lines)


def reliability_summary(result: dict) -> dict:
    """ECE and the worst bin gap (bins of >= MIN_BIN_PAIRS pairs) of the selected
    tags' scores, old and new, and whether the new scores meet MAX_BIN_GAP."""
    summary = {}
    for label, scores in (("old", result["old"]["scores"]), ("new", result["scores"])):
        summary[label] = {
            "ece_selected": scores["ece_selected"],
            "worst_gap": worst_gap(scores["reliability_selected"]),
        }
    summary["min_bin_pairs"] = MIN_BIN_PAIRS
    summary["target_gap"] = MAX_BIN_GAP
    summary["met"] = summary["new"]["worst_gap"] <= MAX_BIN_GAP
    return summary


def reliability_line(summary: dict) -> str:
    old, new = summary["old"], summary["new"]
    verdict = "met" if summary["met"] else "**missed**"
    return (
        f"ECE of the selected tags' scores: old {old['ece_selected']:.3f}, new "
        f"{new['ece_selected']:.3f}. Worst |gap| over bins with at least "
        f"{summary['min_bin_pairs']} pairs: old {old['worst_gap']:.3f}, new "
        f"{new['worst_gap']:.3f} (target <= {summary['target_gap']:.2f}: {verdict})."
    )


def zero_shot_table(results: dict[str, dict]) -> str:
    lines = [
        "| dataset | true tags/product | encoder | rule | tags/product | micro-precision "
        "| micro-F1 | macro-F1 |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    rules = [
        ("old", "old (no cap, similarity in every language)"),
        ("new_no_labels", "new, taxonomy flags only"),
        ("new", "new, single-valued facets from the labels"),
        ("new_minilm", "new, single-valued facets from the labels"),
    ]
    for name, r in results.items():
        z = r.get("zero_shot")
        if z is None:
            continue
        true = z["new"]["true_tags_per_product"]
        for key, label in rules:
            if key not in z:
                continue
            m = z[key]
            encoder = m.get("encoder", "all-MiniLM-L6-v2")
            lines.append(
                f"| {name} | {true:.1f} | {encoder} | {label} | "
                f"{m['scores']['tags_per_product']:.1f} | {m['micro_precision']:.3f} | "
                f"{m['micro_f1']:.4f} | {m['macro_f1']:.4f} |"
            )
        n = z["new"]["names_only"]
        lines.append(
            f"| {name} | {true:.1f} | (none) | tag names and aliases in the text only | "
            f"{n['tags_per_product']:.1f} | {n['micro_precision']:.3f} | "
            f"{n['micro_f1']:.4f} | {n['macro_f1']:.4f} |"
        )
    return "\n".join(lines)


def comparison_body(results: dict[str, dict]) -> str:
    """The before/after part of the section (only with --compare-old)."""
    if not any("old" in r for r in results.values()):
        return ""
    parts = [
        "### Before and after issue #17 (same run)",
        "`old` is the model under the rules before issue #17 (`TrainConfig.legacy()`: raw "
        "blended scores, thresholds with no floor, no minimum support and no shrinkage), "
        "trained on the same split in the same run; `new` is today's default: per-tag "
        "calibrated scores (`training/ml/calibration.py`: hierarchical Platt maps, then "
        "isotonic maps per facet where the data allows, else pooled, fitted on the "
        "validation split) and thresholds on that scale with a floor of 0.02, a minimum support of 5 "
        "validation products per single-valued facet, and each tag's (or facet's) F1 "
        "curve shrunk towards its facet's and the overall pooled one with a pseudo-count "
        "of 5 (`training/ml/thresholds.py`). ECE: expected "
        "calibration error over 10 score bins, of the selected (product, tag) pairs and "
        "of all pairs shown to a reviewer (score >= 0.05).",
        compare_table(results),
    ]
    for name, r in results.items():
        if "old" in r:
            parts += [
                f"Reliability of the selected tags' scores, {name} (test set):",
                reliability_table(r),
                reliability_line(r.get("reliability") or reliability_summary(r)),
            ]
    parts += [
        "### Zero-shot start (no training), same run",
        "The zero-shot model on the same test products, its tags those of the training "
        "part with every facet multi-valued (as an import creates them). `old`: no cap, "
        "similarity trusted whatever the language; `new`: similarity selects at most 2 "
        "tags per facet (name/alias matches are not capped), and on text the encoder "
        "cannot read (over 25% unknown tokens: most Chinese for all-MiniLM-L6-v2) only "
        "name/alias matches are selected; with labels (as imported tags give), facets "
        "that no product carries twice are single-valued. The encoder is the one the "
        "catalogue's language gets (multilingual-e5-small for Chinese, trusted from 3.0 "
        "standard deviations above the text's mean instead of 1.5: "
        "`zero_shot.MULTILINGUAL_SPREAD`); on a Chinese set the new rules also run with "
        "all-MiniLM-L6-v2, every catalogue's zero-shot encoder before. The review screen "
        "pre-ticks only the name and alias matches of a zero-shot model (the last row).",
        zero_shot_table(results),
    ]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument(
        "--compare-old",
        action="store_true",
        help="also measure the rules from before issue #17 (model and zero-shot)",
    )
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="the Markdown file whose section is rewritten"
    )
    parser.add_argument(
        "--json", type=Path, default=OUT / "quality.json", help="where the run's JSON goes"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="write the section from earlier runs' JSON (their results merged) instead "
        "of measuring",
    )
    args = parser.parse_args()
    if args.from_json:
        runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.from_json]
        results = {name: r for run_ in runs for name, r in run_["results"].items()}
        where = runs[0]["machine"]
        command = "`, `".join(dict.fromkeys(run_["command"] for run_ in runs))
    else:
        missing = [n for n in args.datasets if not (DATA / f"{n}.jsonl.gz").exists()]
        if missing:
            sys.exit(f"{DATA} lacks {missing}: put the shared data beside the project")
        results = {name: run(name, args.compare_old) for name in args.datasets}
        where = machine()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        command = COMMAND if args.compare_old else COMMAND.replace(" --compare-old", "")
        if args.datasets != DATASETS:
            command += " --datasets " + " ".join(args.datasets)
        summary = {"command": command, "machine": where, "results": results}
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(table(results))
    comparison = comparison_body(results)
    if comparison:
        print(comparison)

    body = f"""
Head mode (frozen sentence embeddings, cached, from the encoder the catalogue
gets by default, column `encoder`, plus word 1-2-gram and
character n-gram TF-IDF, into an ensemble of two small networks with one softmax
per single-valued facet, blended per facet with a nearest-neighbour vote over
the training products and a vote of the tag names and aliases found in the
text; inside single-valued facets, rare tags raised by post-hoc logit
adjustment; blend weights, the adjustment, per-tag score calibration and per-tag
thresholds tuned on cross-fitted scores of every training product (5 folds) for
training sets up to 5,000 products, else on a 15% validation split, then refit on
all training data)
against the reference baseline of `../shared/data/README.md`
(TF-IDF word 1-2-grams, character 1-3-grams for Chinese, one-vs-rest logistic
regression C=10, threshold 0.3), trained and tested in the same run.

Split: the products that have tags, `random.Random(0).shuffle`, first 80% train,
the rest test. Tags that occur only in the test set stay in the evaluation as
misses. Macro-F1 averages over every tag of the training part and the test part,
a tag that is neither in the test set nor predicted there counting 0 (scikit-learn's
average="macro" with zero_division=0, the reference's convention); coverage is the
share of test-set tags predicted correctly at least once (definitions in
`training/ml/metrics.py`). Seconds: training (embeddings were already cached: the
first run embeds every text once) plus predicting the test set.

{table(results)}

{comparison}

Command: `{command}` (each run writes its JSON, by default `bench/out/quality.json`).
Machine: {where}; shared with other jobs while measured, so seconds are upper bounds.
"""
    write_section("Model quality", body, args.doc)
    print(f"wrote {args.doc}" if args.from_json else f"wrote {args.json} and {args.doc}")


if __name__ == "__main__":
    main()

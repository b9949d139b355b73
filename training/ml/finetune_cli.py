"""Fine-tune from the command line, on one process or many (DDP).

    python -m training.ml.finetune_cli --base-model DIR_OR_ID \
        --train train.jsonl --val val.jsonl --out DIR

Under ``torchrun --nproc_per_node=N`` (or ``accelerate launch``), which set
WORLD_SIZE, RANK and LOCAL_RANK, every process trains on its share of each epoch's
batches with DistributedDataParallel (NCCL on GPUs, gloo on CPUs) and rank 0 writes
the artifact. Otherwise it runs as a single process.

Input lines are JSON objects with ``tags`` (a list of tag keys) and either ``text``
or ``title`` (+ optional ``description``), as in ../shared/data (read by
``training.ml.data.load_examples``; ``.gz`` files are read compressed). The output directory holds the FineTunedClassifier artifact and
``tags.json``, the tag key of each output column.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.ml.artifacts import read_tag_vocab, write_tag_vocab
from training.ml.data import load_examples
from training.ml.finetune import FineTuneConfig, FineTunedClassifier, finetune
from training.ml.metrics import binarize
from training.ml.types import Cancelled

logger = logging.getLogger("training.ml.finetune_cli")

EXIT_CANCELLED = 130


def build_parser() -> argparse.ArgumentParser:
    defaults = FineTuneConfig()
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.finetune_cli", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--base-model", required=True, help="local directory or hub id")
    parser.add_argument("--train", type=Path, required=True, help="training JSONL (.gz ok)")
    parser.add_argument("--val", type=Path, required=True, help="validation JSONL (.gz ok)")
    parser.add_argument(
        "--out", type=Path, required=True, help="artifact directory (must not exist)"
    )
    parser.add_argument(
        "--tags",
        type=Path,
        help="JSON list fixing the tag columns (default: the training tags, sorted)",
    )
    parser.add_argument(
        "--progress-file", type=Path, help="rank 0 keeps {fraction, stage} JSON here"
    )
    parser.add_argument("--device", help="single-process device (default: cuda if available)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help="epochs of the schedule (default: chosen from the data size, early stopping ends it)",
    )
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--head-lr", type=float, default=defaults.head_lr)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="per process")
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--warmup-ratio", type=float, default=defaults.warmup_ratio)
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    parser.add_argument("--patience", type=int, default=defaults.patience)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--grad-clip", type=float, default=defaults.grad_clip)
    parser.add_argument("--pos-weight-cap", type=float, default=defaults.pos_weight_cap)
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="default: on with CUDA bf16, or a CPU with AMX or AVX512_BF16 "
        "(unless TAGGER_ENCODER_PRECISION says otherwise)",
    )
    parser.add_argument("--num-workers", type=int, default=defaults.num_workers)
    parser.add_argument(
        "--adapter", choices=["lora", "full"], help="default: full on CUDA, lora elsewhere"
    )
    parser.add_argument("--lora-rank", type=int, default=defaults.lora_rank)
    parser.add_argument("--lora-layers", type=int, help="adapt the top N layers (default: all)")
    parser.add_argument("--lora-lr", type=float, default=defaults.lora_lr)
    return parser  # fmt: skip


class _ProgressFile:
    """Writes progress atomically so a parent process polling the file never reads
    half a JSON document."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def __call__(self, fraction: float, stage: str) -> None:
        logger.info("%3.0f%% %s", 100 * fraction, stage)
        if self.path is None:
            return
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps({"fraction": fraction, "stage": stage}), encoding="utf-8")
        os.replace(partial, self.path)


def _save_atomically(classifier: FineTunedClassifier, tag_vocab: Sequence[str], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        classifier.save(staging)
        write_tag_vocab(staging, tag_vocab)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _setup_distributed() -> tuple[int, int, str | None]:
    """Joins the process group torchrun described in the environment; returns
    (world size, rank, this rank's device), or (1, 0, None) for one process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 1, 0, None
    import torch
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend = f"cuda:{local_rank}", "nccl"
    else:
        device, backend = "cpu", "gloo"
    dist.init_process_group(backend=backend)
    return dist.get_world_size(), dist.get_rank(), device


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.exists():
        logger.error("%s already exists; choose a new directory", args.out)
        return 2
    # Untagged lines stay: under complete labels they are negatives for every tag.
    train = load_examples(args.train, skip_untagged=False)
    val = load_examples(args.val, skip_untagged=False)
    train_texts, train_labels = [e.text for e in train], [e.tags for e in train]
    val_texts, val_labels = [e.text for e in val], [e.tags for e in val]
    if args.tags:
        tag_vocab = read_tag_vocab(args.tags)
    else:
        tag_vocab = sorted({tag for tags in train_labels for tag in tags})
    if not train_texts or not tag_vocab:
        logger.error("%s has no tagged products to learn from", args.train)
        return 2

    world_size, rank, rank_device = _setup_distributed()
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    # torchrun forwards SIGTERM to every rank, so all of them stop at the next step.
    signal.signal(signal.SIGTERM, request_stop)
    config = FineTuneConfig(
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        patience=args.patience,
        seed=args.seed,
        grad_clip=args.grad_clip,
        pos_weight_cap=args.pos_weight_cap,
        device=rank_device or args.device,
        bf16=args.bf16,
        num_workers=args.num_workers,
        adapter=args.adapter,
        lora_rank=args.lora_rank,
        lora_layers=args.lora_layers,
        lora_lr=args.lora_lr,
    )
    progress = _ProgressFile(args.progress_file) if rank == 0 else None
    try:
        classifier = finetune(
            args.base_model,
            train_texts,
            binarize(train_labels, tag_vocab).astype(np.float32),
            val_texts,
            binarize(val_labels, tag_vocab).astype(np.float32),
            config,
            progress=progress,
            should_stop=lambda: stop_requested,
        )
        if rank == 0:
            _save_atomically(classifier, tag_vocab, args.out)
            logger.info("saved %s (best epoch %d)", args.out, classifier.best_epoch)
    except Cancelled:
        logger.warning("cancelled on rank %d", rank)
        return EXIT_CANCELLED
    finally:
        if world_size > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format=f"%(asctime)s rank{os.environ.get('RANK', '0')} %(levelname)s %(message)s",
    )
    sys.exit(main())

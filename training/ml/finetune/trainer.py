"""End-to-end fine-tuning of a transformer encoder with a multi-label head."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import ProgressFn, StopFn, check_stop, report
from .adapters import merge_adapters, prepare_encoder, resolve_adapter
from .batching import LengthBucketBatchSampler
from .classifier import FineTunedClassifier, resolve_bf16, resolve_device
from .weighting import EarlyStopping, compute_pos_weight, initial_bias, micro_f1

if TYPE_CHECKING:
    import torch

    from .network import TaggingNetwork

logger = logging.getLogger(__name__)

# Reporting every step would flood a caller that writes progress to a database.
_REPORTS_PER_EPOCH = 20
MIN_EPOCHS = 6  # the fewest epochs a schedule chosen from the data spans


@dataclass
class FineTuneConfig:
    # The epochs the learning-rate schedule spans. None (the default) chooses them
    # from the data: at least MIN_EPOCHS, more on a small set until the run takes
    # min_steps optimizer steps, at most max_epochs. Early stopping on the
    # validation set ends a run sooner once `patience` epochs bring nothing better.
    # (A fixed 6 gave a set of a few hundred products a few hundred steps, and its
    # learning rate decayed to zero while validation F1 was still rising.)
    epochs: int | None = None
    min_steps: int = 1500
    max_epochs: int = 30
    lr: float = 5e-5  # encoder
    head_lr: float = 1e-3  # the freshly initialised head learns faster
    batch_size: int = 32  # per process under DDP
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3
    seed: int = 0
    grad_clip: float = 1.0  # max gradient norm; 0 turns clipping off
    pos_weight_cap: float = 20.0
    device: str | None = None  # None = cuda if available
    bf16: bool | None = None  # None = classifier.resolve_bf16: CUDA, or a bf16-capable CPU
    num_workers: int = 0
    # What trains (adapters.py): "lora" or "full"; None = full on CUDA, LoRA elsewhere.
    # The word embeddings stay frozen either way unless freeze_embeddings is off.
    adapter: str | None = None
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_layers: int | None = None  # adapt the top n layers; None = all
    lora_lr: float = 5e-4  # adapters start at zero and need a larger step than `lr`
    freeze_embeddings: bool = True


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _distributed() -> tuple[int, int]:
    """(world size, rank): (1, 0) unless a process group is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _labels(Y: np.ndarray, n: int, what: str) -> np.ndarray:
    labels = np.asarray(Y)
    if labels.ndim != 2 or labels.shape[0] != n:
        raise ValueError(f"{what} must have shape ({n}, n_tags), got {labels.shape}")
    return labels.astype(np.float32)


def _param_groups(
    network: TaggingNetwork, config: FineTuneConfig, adapter: str = "full"
) -> list[dict[str, Any]]:
    """Encoder at ``lr``, head at ``head_lr``; no weight decay on biases and
    LayerNorm weights (the 1-D parameters), as in BERT's recipe."""
    groups = []
    encoder_lr = config.lora_lr if adapter == "lora" else config.lr
    for module, lr in ((network.encoder, encoder_lr), (network.head, config.head_lr)):
        params = [p for p in module.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups.append({"params": decay, "lr": lr, "weight_decay": config.weight_decay})
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return [group for group in groups if group["params"]]


def linear_warmup_decay(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: 0 -> 1 over the warm-up, then linearly down to 0 at the end."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(warmup_steps, 1)
        return max(0.0, (total_steps - step) / max(total_steps - warmup_steps, 1))

    return factor


def planned_epochs(config: FineTuneConfig, steps_per_epoch: int) -> int:
    """Epochs the learning-rate schedule spans: config.epochs when set; else
    MIN_EPOCHS, raised until the run takes config.min_steps optimizer steps, but
    not past config.max_epochs."""
    if config.epochs is not None:
        return config.epochs
    needed = math.ceil(config.min_steps / max(steps_per_epoch, 1))
    return max(MIN_EPOCHS, min(needed, config.max_epochs))


def _broadcast_score(score: float, device: str, world_size: int) -> float:
    """Rank 0's validation score, so every rank takes the same early-stopping
    decision even if bf16 rounding made their evaluations differ slightly."""
    if world_size == 1:
        return score
    import torch
    import torch.distributed as dist

    value = torch.tensor([score], dtype=torch.float64, device=device)
    dist.broadcast(value, src=0)
    return float(value.item())


def _mean_over_ranks(value: torch.Tensor, world_size: int) -> float:
    """Each rank saw its own batches; the epoch's loss is the mean of all."""
    if world_size > 1:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value)
        value /= world_size
    return float(value.item())


def _checked_labels(
    train_texts: Sequence[str],
    Y_train: np.ndarray,
    val_texts: Sequence[str],
    Y_val: np.ndarray,
    config: FineTuneConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Reject unusable arguments; the label matrices as float32."""
    if len(train_texts) == 0:
        raise ValueError("fine-tuning needs at least one training text")
    if (config.epochs is not None and config.epochs < 1) or config.batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    Y_train = _labels(Y_train, len(train_texts), "Y_train")
    Y_val = _labels(Y_val, len(val_texts), "Y_val")
    if Y_val.shape[1] != Y_train.shape[1]:
        raise ValueError("Y_train and Y_val disagree on the number of tags")
    return Y_train, Y_val


def _for_world(network: TaggingNetwork, device: str, world_size: int) -> torch.nn.Module:
    """The module to train: the network itself, or the network wrapped in DDP when
    there are several ranks."""
    if world_size > 1:
        import torch
        from torch.nn.parallel import DistributedDataParallel

        on_gpu = device.startswith("cuda")
        return DistributedDataParallel(
            network, device_ids=[torch.device(device)] if on_gpu else None
        )
    return network


def finetune(
    base_model: str,
    train_texts: Sequence[str],
    Y_train: np.ndarray,
    val_texts: Sequence[str],
    Y_val: np.ndarray,
    config: FineTuneConfig,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> FineTunedClassifier:
    """Fine-tune ``base_model`` (a local directory or hub id) end to end.

    Early stopping watches validation micro-F1 at threshold 0.5 and the returned
    classifier carries the best epoch's weights. With an empty validation set every
    epoch runs and the last one is kept.

    Under ``torch.distributed`` (an initialised process group, e.g. from torchrun)
    it trains with DDP: ``config.device`` must name this rank's device, each rank
    takes its share of the batches and evaluates the whole validation set. Every
    rank returns the same model; only one should save it.

    Raises ``Cancelled`` when ``should_stop()`` turns true (checked every step).
    """
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoModel, AutoTokenizer

    from .network import (
        Collator,
        TaggingNetwork,
        autocast,
        cpu_state_dict,
        pad_token_id,
        run_network,
        tokenize,
    )

    Y_train, Y_val = _checked_labels(train_texts, Y_train, val_texts, Y_val, config)
    world_size, rank = _distributed()
    device = resolve_device(config.device)
    use_bf16 = resolve_bf16(config.bf16, device)
    if device == "cpu":
        from ..encoder import configure_cpu_threads

        configure_cpu_threads()
    seed_everything(config.seed)

    report(progress, 0.0, "loading the base model")
    local_only = Path(base_model).is_dir()
    tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=local_only)
    encoder = AutoModel.from_pretrained(
        base_model, local_files_only=local_only, dtype=torch.float32
    )
    adapter = resolve_adapter(config.adapter, device)
    encoder = prepare_encoder(
        encoder,
        adapter,
        rank=config.lora_rank,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
        top_layers=config.lora_layers,
        freeze_embeddings=config.freeze_embeddings,
    )
    network = TaggingNetwork(encoder, Y_train.shape[1])
    pos_weight = compute_pos_weight(Y_train, config.pos_weight_cap)
    with torch.no_grad():
        network.head.bias.copy_(torch.from_numpy(initial_bias(Y_train, pos_weight)))
    network.to(device)
    model = _for_world(network, device, world_size)

    pad_id = pad_token_id(tokenizer)
    train_ids = tokenize(tokenizer, train_texts, config.max_length)
    val_ids = tokenize(tokenizer, val_texts, config.max_length) if len(val_texts) else []
    sampler = LengthBucketBatchSampler(
        [len(ids) for ids in train_ids],
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        num_replicas=world_size,
        rank=rank,
    )
    loader: DataLoader[int] = DataLoader(
        # The collator looks rows up by index.
        range(len(train_ids)),  # type: ignore[arg-type]  # a sequence is a map-style dataset
        batch_sampler=sampler,
        collate_fn=Collator(train_ids, pad_id, Y_train),
        num_workers=config.num_workers,
        pin_memory=device.startswith("cuda"),
        generator=torch.Generator().manual_seed(config.seed),
    )
    optimizer = torch.optim.AdamW(
        _param_groups(network, config, adapter), fused=device.startswith("cuda") or None
    )
    steps_per_epoch = len(sampler)
    epochs = planned_epochs(config, steps_per_epoch)
    total_steps = max(epochs * steps_per_epoch, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        linear_warmup_decay(math.ceil(config.warmup_ratio * total_steps), total_steps),
    )
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pos_weight).to(device))
    trainable = [p for p in network.parameters() if p.requires_grad]
    report_every = max(steps_per_epoch // _REPORTS_PER_EPOCH, 1)
    logger.info(
        "fine-tuning %s on %s (bf16=%s, world=%d): %d texts, %d tags, %d steps/epoch",
        base_model,
        device,
        use_bf16,
        world_size,
        len(train_ids),
        Y_train.shape[1],
        steps_per_epoch,
    )

    history: list[dict] = []
    stopping = EarlyStopping(config.patience)
    best_state: dict[str, torch.Tensor] | None = None
    done = 0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        model.train()
        loss_sum = torch.zeros((), device=device)
        for step, batch in enumerate(loader, start=1):
            check_stop(should_stop)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with autocast(device, use_bf16):
                logits = model(batch["input_ids"], batch["attention_mask"])
            loss = loss_fn(logits.float(), batch["labels"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
            optimizer.step()
            scheduler.step()
            # Accumulate on the device: .item() every step would stall the GPU.
            loss_sum += loss.detach()
            done += 1
            if step % report_every == 0 or step == steps_per_epoch:
                report(
                    progress,
                    done / total_steps,
                    f"epoch {epoch}/{epochs} step {step}/{steps_per_epoch}",
                )
        check_stop(should_stop)
        train_loss = _mean_over_ranks(loss_sum / max(steps_per_epoch, 1), world_size)

        val_f1: float | None = None
        if val_ids:
            report(progress, done / total_steps, f"epoch {epoch}/{epochs} validating")
            logits = run_network(
                network,
                val_ids,
                pad_id,
                device=device,
                bf16=use_bf16,
                batch_size=max(2 * config.batch_size, 64),
            )
            val_f1 = _broadcast_score(micro_f1(Y_val > 0.5, logits > 0.0), device, world_size)
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_micro_f1": val_f1,
                "seconds": time.perf_counter() - started,
            }
        )
        logger.info("epoch %d: train loss %.4f, val micro-F1 %s", epoch, train_loss, val_f1)
        if val_f1 is None:
            continue
        stop = stopping.update(epoch, val_f1)
        if stopping.improved:
            best_state = cpu_state_dict(network) if epoch < epochs else None
        if stop:
            break

    if best_state is not None and stopping.best_epoch != history[-1]["epoch"]:
        network.load_state_dict(best_state)
        logger.info(
            "restored epoch %d (val micro-F1 %.4f)", stopping.best_epoch, stopping.best_score
        )
    report(progress, 1.0, "fine-tuned")
    network.encoder = merge_adapters(network.encoder)  # a plain encoder to save and serve
    return FineTunedClassifier(
        network,
        tokenizer,
        device=device,
        max_length=config.max_length,
        bf16=use_bf16,
        history=history,
        best_epoch=stopping.best_epoch or history[-1]["epoch"],
        base_model=base_model,
    )

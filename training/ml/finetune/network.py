"""The torch side of fine-tuning. This module imports torch at the top, so the
rest of the package imports it only inside functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


class TaggingNetwork(nn.Module):
    """A transformer encoder, mean pooling over real tokens, dropout, one linear
    layer with a logit per tag."""

    def __init__(self, encoder: Any, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), n_labels)
        # BERT-style encoders also compute a [CLS] pooler that mean pooling never
        # reads. Its weights would get no gradient, which DDP treats as an error.
        pooler = getattr(encoder, "pooler", None)
        if isinstance(pooler, nn.Module):
            pooler.requires_grad_(False)

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        # Sum in float32: bf16 has too few mantissa bits to average 128 vectors well.
        weights = attention_mask.unsqueeze(-1).to(torch.float32)
        return (hidden.float() * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.pool(input_ids, attention_mask)))


class Collator:
    """Pads pre-tokenised texts to the longest in the batch (dynamic padding)."""

    def __init__(
        self, token_ids: Sequence[Sequence[int]], pad_id: int, labels: np.ndarray | None = None
    ) -> None:
        self.token_ids = token_ids
        self.pad_id = pad_id
        self.labels = labels

    def __call__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        rows = [self.token_ids[i] for i in indices]
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, : len(row)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.labels is not None:
            batch["labels"] = torch.from_numpy(
                np.ascontiguousarray(self.labels[list(indices)], dtype=np.float32)
            )
        return batch


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    # An empty text would still get [CLS] [SEP], but some tokenizers reject "".
    encoded = tokenizer(
        [text or " " for text in texts],
        truncation=True,
        max_length=max_length,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [list(ids) for ids in encoded["input_ids"]]


def pad_token_id(tokenizer: Any) -> int:
    pad_id = tokenizer.pad_token_id
    return int(pad_id) if pad_id is not None else 0


def run_network(
    network: TaggingNetwork,
    token_ids: Sequence[Sequence[int]],
    pad_id: int,
    *,
    device: str,
    bf16: bool,
    batch_size: int,
    pooled: bool = False,
) -> np.ndarray:
    """Logits (or, with ``pooled``, L2-normalised pooled embeddings) in input order.

    Batches run longest first, so similar lengths share a batch and a memory
    problem shows in the first batch rather than the last."""
    width = int(network.encoder.config.hidden_size) if pooled else network.head.out_features
    out = np.zeros((len(token_ids), width), dtype=np.float32)
    if not token_ids:
        return out
    collate = Collator(token_ids, pad_id)
    order = np.argsort([-len(ids) for ids in token_ids], kind="stable")
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = {k: v.to(device) for k, v in collate(idx.tolist()).items()}
                with autocast(device, bf16):
                    if pooled:
                        values = nn.functional.normalize(network.pool(**batch), p=2, dim=1)
                    else:
                        values = network(**batch)
                out[idx] = values.float().cpu().numpy()
    finally:
        network.train(was_training)
    return out


def autocast(device: str, bf16: bool) -> torch.autocast:
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16)


def cpu_state_dict(network: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy on the CPU, to restore the best epoch later."""
    return {key: value.detach().to("cpu", copy=True) for key, value in network.state_dict().items()}

"""The head-mode classifier: a small torch network over a frozen sentence
embedding and the sparse TF-IDF channel.

logits = MLP(embedding) + X_tfidf @ W_lex + b. A single-valued facet is one
softmax over its tags (plus a "none" option when some products lack the facet),
so its tags compete as they do in the data; every other tag is its own sigmoid.
The lexical weights are EmbeddingBag tables updated row-wise (RowAdam), so an
update only touches the n-grams present in the batch and training stays cheap
with 100k+ features.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .types import ProgressFn, StopFn, check_stop, report

if TYPE_CHECKING:
    import torch


@dataclass
class HeadConfig:
    hidden: int = 512  # width of the hidden layer over the embedding; 0 = linear
    dropout: float = 0.2
    max_epochs: int = 40
    patience: int = 4  # epochs without a better validation loss before stopping
    batch_size: int = 128
    lr: float = 2e-3  # dense layers (Adam)
    lex_lr: float = 5e-3  # lexical tables (Adam on the touched rows, RowAdam)
    weight_decay: float = 1e-5
    lexical_hidden: bool = False  # feed the TF-IDF into the hidden layer too (word interactions)
    lexical_dropout: float = 0.0  # share of a text's n-grams hidden at each training step


@dataclass
class HeadLayout:
    """Which tag columns form softmax groups (single-valued facets)."""

    n_tags: int
    groups: list[list[int]] = field(default_factory=list)
    group_has_none: list[bool] = field(default_factory=list)

    @property
    def sigmoid_columns(self) -> np.ndarray:
        grouped = {j for g in self.groups for j in g}
        return np.array([j for j in range(self.n_tags) if j not in grouped], dtype=np.int64)

    def to_json(self) -> dict:
        return {"n_tags": self.n_tags, "groups": self.groups, "group_has_none": self.group_has_none}

    @classmethod
    def from_json(cls, data: dict) -> HeadLayout:
        return cls(data["n_tags"], [list(g) for g in data["groups"]], list(data["group_has_none"]))

    @classmethod
    def from_labels(
        cls, facets: Sequence[str], single: Sequence[bool], Y: np.ndarray
    ) -> HeadLayout:
        by_facet: dict[str, list[int]] = {}
        for j, (facet, is_single) in enumerate(zip(facets, single, strict=True)):
            if is_single:
                by_facet.setdefault(facet, []).append(j)
        groups = list(by_facet.values())
        # "none" is an option unless every training product carries the facet.
        has_none = [bool((Y[:, g].sum(axis=1) == 0).any()) or len(Y) == 0 for g in groups]
        return cls(len(facets), groups, has_none)


def _network(dim: int, n_lex: int, n_tags: int, config: HeadConfig) -> Any:
    import torch.nn.functional as F
    from torch import nn

    class HeadNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dropout = nn.Dropout(config.dropout)
            self.lex_hidden = None
            if config.hidden:
                self.inp = nn.Linear(dim, config.hidden)
                self.out: nn.Module = nn.Sequential(
                    nn.GELU(), nn.Dropout(config.dropout), nn.Linear(config.hidden, n_tags)
                )
                if config.lexical_hidden:
                    self.lex_hidden = nn.EmbeddingBag(
                        max(n_lex, 1), config.hidden, mode="sum", sparse=True
                    )
                    nn.init.normal_(self.lex_hidden.weight, std=0.02)
            else:
                self.inp = nn.Linear(dim, n_tags)
                self.out = nn.Identity()
            # One spare row so an empty vocabulary still builds a valid layer.
            self.lex = nn.EmbeddingBag(max(n_lex, 1), n_tags, mode="sum", sparse=True)
            nn.init.zeros_(self.lex.weight)

        def tables(self) -> list[torch.Tensor]:
            """The lexical weight tables, the ones RowAdam updates."""
            hidden = [self.lex_hidden.weight] if self.lex_hidden is not None else []
            return [self.lex.weight, *hidden]

        def forward(
            self,
            emb: torch.Tensor,
            idx: torch.Tensor,
            offsets: torch.Tensor,
            weights: torch.Tensor,
            rows: Sequence[torch.Tensor] | None = None,
        ) -> torch.Tensor:
            """rows: in training, the rows of tables() that idx (then local row
            numbers) points into, so the gradients come out dense and small."""
            lex, *lex_hidden = rows if rows is not None else self.tables()
            hidden = self.inp(self.dropout(emb))
            if lex_hidden:
                hidden = hidden + F.embedding_bag(
                    idx, lex_hidden[0], offsets, mode="sum", per_sample_weights=weights
                )
            return self.out(hidden) + F.embedding_bag(
                idx, lex, offsets, mode="sum", per_sample_weights=weights
            )

    return HeadNet()


def _bag(X: sp.csr_matrix, rows: np.ndarray | None = None) -> tuple:
    import torch

    sub = X if rows is None else X[rows]
    return (
        torch.from_numpy(sub.indices.astype(np.int64)),
        torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
        torch.from_numpy(sub.data.astype(np.float32)),
    )


def probabilities(logits: torch.Tensor, layout: HeadLayout) -> torch.Tensor:
    import torch

    proba = torch.sigmoid(logits)
    for group, has_none in zip(layout.groups, layout.group_has_none, strict=True):
        z = logits[:, group]
        if has_none:
            z = torch.cat([z, torch.zeros_like(z[:, :1])], dim=1)
        proba[:, group] = torch.softmax(z, dim=1)[:, : len(group)]
    return proba


def _loss(logits: torch.Tensor, Y: torch.Tensor, layout: HeadLayout) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    loss = logits.new_zeros(())
    sig = torch.from_numpy(layout.sigmoid_columns)
    if len(sig):
        bce = F.binary_cross_entropy_with_logits(logits[:, sig], Y[:, sig], reduction="none")
        loss = loss + bce.sum(dim=1).mean()
    for group, has_none in zip(layout.groups, layout.group_has_none, strict=True):
        z = logits[:, group]
        y = Y[:, group]
        present = y.sum(dim=1) > 0
        if has_none:
            z = torch.cat([z, torch.zeros_like(z[:, :1])], dim=1)
            target = torch.where(
                present, y.argmax(dim=1), torch.full_like(present, len(group), dtype=torch.long)
            )
            loss = loss + F.cross_entropy(z, target)
        elif present.any():
            loss = (
                loss
                + F.cross_entropy(z[present], y[present].argmax(dim=1)) * present.float().mean()
            )
    return loss


class HeadClassifier:
    """A trained head: predict probabilities from (embeddings, lexical features)."""

    def __init__(
        self, net: Any, layout: HeadLayout, config: HeadConfig, dim: int, n_lex: int
    ) -> None:
        self.net = net
        self.layout = layout
        self.config = config
        self.dim = dim
        self.n_lex = n_lex
        self.epochs_trained = 0
        net.eval()

    def logits(self, E: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.net(
                torch.from_numpy(np.ascontiguousarray(E, dtype=np.float32)), *_bag(X)
            ).numpy()

    def predict_proba(self, E: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        import torch

        if len(E) == 0:
            return np.zeros((0, self.layout.n_tags), dtype=np.float32)
        with torch.inference_mode():
            logits = self.net(torch.from_numpy(np.ascontiguousarray(E, dtype=np.float32)), *_bag(X))
            return probabilities(logits, self.layout).numpy().astype(np.float32)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().contiguous() for k, v in self.net.state_dict().items()}

    @classmethod
    def from_state(
        cls, state: dict, layout: HeadLayout, config: HeadConfig, dim: int, n_lex: int
    ) -> HeadClassifier:
        net = _network(dim, n_lex, layout.n_tags, config)
        net.load_state_dict(state)
        return cls(net, layout, config, dim, n_lex)


class RowAdam:
    """Adam on the rows of the lexical tables that a batch touches, computed as
    torch's SparseAdam does (an untouched row's moments wait), but fed the dense
    gradient of those rows: SparseAdam's coalesce and sparse_mask took about half
    of the head's training time."""

    def __init__(
        self, tables: list[torch.Tensor], lr: float, betas: tuple = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        import torch

        self.tables = tables
        self.lr, self.betas, self.eps = lr, betas, eps
        self.moments = [(torch.zeros_like(t), torch.zeros_like(t)) for t in tables]
        self.steps = 0

    def step(self, touched: torch.Tensor, grads: Sequence[torch.Tensor]) -> None:
        import torch

        self.steps += 1
        beta1, beta2 = self.betas
        size = self.lr * math.sqrt(1 - beta2**self.steps) / (1 - beta1**self.steps)
        with torch.no_grad():
            for table, (mean, square), grad in zip(self.tables, self.moments, grads, strict=True):
                m = mean.index_select(0, touched).mul_(beta1).add_(grad, alpha=1 - beta1)
                v = (
                    square.index_select(0, touched)
                    .mul_(beta2)
                    .addcmul_(grad, grad, value=1 - beta2)
                )
                mean.index_copy_(0, touched, m)
                square.index_copy_(0, touched, v)
                table.index_add_(0, touched, m.div_(v.sqrt_().add_(self.eps)), alpha=-size)


def train_head(
    E: np.ndarray,
    X: sp.csr_matrix,
    Y: np.ndarray,
    layout: HeadLayout,
    config: HeadConfig,
    seed: int = 0,
    val: tuple[np.ndarray, sp.csr_matrix, np.ndarray] | None = None,
    epochs: int | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> HeadClassifier:
    """Train on (E, X, Y). With val, stop early on the validation loss and keep the
    best epoch's weights; otherwise run exactly `epochs` (default max_epochs)."""
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    n, dim = E.shape
    net = _network(dim, X.shape[1], layout.n_tags, config)
    dense = [p for name, p in net.named_parameters() if not name.startswith("lex")]
    opt_dense = torch.optim.AdamW(dense, lr=config.lr, weight_decay=config.weight_decay)
    opt_lex = RowAdam(net.tables(), lr=config.lex_lr)
    E_t = torch.from_numpy(np.ascontiguousarray(E, dtype=np.float32))
    Y_t = torch.from_numpy(Y.astype(np.float32))
    if val is not None:
        E_val = torch.from_numpy(np.ascontiguousarray(val[0], dtype=np.float32))
        bag_val = _bag(val[1])
        Y_val = torch.from_numpy(val[2].astype(np.float32))
    total = epochs if epochs is not None else config.max_epochs
    best_loss, best_state, best_epoch, stale = math.inf, None, total, 0
    for epoch in range(total):
        net.train()
        order = torch.randperm(n, generator=generator).numpy()
        for start in range(0, n, config.batch_size):
            check_stop(should_stop)
            rows = order[start : start + config.batch_size]
            idx, offsets, weights = _bag(X, rows)
            if config.lexical_dropout:
                keep = torch.rand(weights.shape, generator=generator) >= config.lexical_dropout
                weights = weights * keep / (1.0 - config.lexical_dropout)
            touched, local = torch.unique(idx, return_inverse=True)
            lex_rows = [t.detach()[touched].requires_grad_() for t in net.tables()]
            logits = net(E_t[rows], local, offsets, weights, lex_rows)
            loss = _loss(logits, Y_t[rows], layout)
            opt_dense.zero_grad()
            loss.backward()
            opt_dense.step()
            opt_lex.step(touched, [r.grad for r in lex_rows])
        report(progress, (epoch + 1) / total, f"training head, epoch {epoch + 1}")
        if val is None or len(val[0]) == 0:
            continue
        net.eval()
        with torch.inference_mode():
            val_loss = float(_loss(net(E_val, *bag_val), Y_val, layout))
        if val_loss < best_loss - 1e-4:
            best_loss, best_state, best_epoch, stale = (
                val_loss,
                copy.deepcopy(net.state_dict()),
                epoch + 1,
                0,
            )
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    head = HeadClassifier(net, layout, config, dim, X.shape[1])
    head.epochs_trained = best_epoch if best_state is not None else total
    return head

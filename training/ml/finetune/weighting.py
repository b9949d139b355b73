"""Class weighting for the multi-label loss, and early stopping (numpy only)."""

from __future__ import annotations

import numpy as np

_EPS = 1e-4


def compute_pos_weight(Y: np.ndarray, cap: float = 20.0) -> np.ndarray:
    """Per-tag weight of a positive example in BCE: negatives / positives, so a rare
    tag's few positives count as much as its many negatives, clipped to [1, cap].

    The floor keeps common tags (more positives than negatives) at plain BCE rather
    than down-weighting their positives; the cap stops a tag seen once or twice from
    dominating the gradient. A tag with no positives gets 1 (it has nothing to weigh).
    """
    labels = np.asarray(Y, dtype=bool)
    positives = labels.sum(axis=0).astype(np.float64)
    negatives = labels.shape[0] - positives
    ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=positives > 0)
    return np.clip(ratio, 1.0, max(cap, 1.0)).astype(np.float32)


def initial_bias(Y: np.ndarray, pos_weight: np.ndarray) -> np.ndarray:
    """The constant logit that minimises the weighted BCE of each tag:
    sigmoid(b) = w*p / (w*p + 1 - p). Starting the head there spares the first
    steps from merely learning each tag's base rate."""
    prevalence = np.clip(np.asarray(Y, dtype=np.float64).mean(axis=0), _EPS, 1 - _EPS)
    weighted = np.asarray(pos_weight, dtype=np.float64) * prevalence
    return np.log(weighted / (1 - prevalence)).astype(np.float32)


def micro_f1(Y_true: np.ndarray, Y_pred: np.ndarray) -> float:
    truth = np.asarray(Y_true, dtype=bool)
    pred = np.asarray(Y_pred, dtype=bool)
    tp = int(np.sum(truth & pred))
    wrong = int(np.sum(truth ^ pred))
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


class EarlyStopping:
    """Tracks the best score; ``update`` says whether to stop.

    Training stops once ``patience`` epochs in a row failed to beat the best
    (strictly; a tie keeps the earlier epoch). Patience 0 stops at the first such
    epoch, like 1."""

    def __init__(self, patience: int) -> None:
        self.patience = max(patience, 0)
        self.best_score = float("-inf")
        self.best_epoch = 0
        self.bad_epochs = 0

    def update(self, epoch: int, score: float) -> bool:
        """Record an epoch's score; True when training should stop now."""
        if score > self.best_score:
            self.best_score = score
            self.best_epoch = epoch
            self.bad_epochs = 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    @property
    def improved(self) -> bool:
        """The last update set a new best."""
        return self.bad_epochs == 0

"""Raising rare tags inside single-valued facets (post-hoc logit adjustment).

A facet decided by argmax favours its frequent tags: a rare tag wins only when
the model is sure of it, so it is seldom predicted and its F1 (which macro-F1
weighs like any other tag's) stays low. Dividing each score by its tag's
training prior to the power tau (Menon et al., "Long-tail learning via logit
adjustment") moves close calls towards the rarer tag. tau is chosen per facet on
validation data, and only where it does not cost the facet accuracy, so the
frequent tags (micro-F1) keep what they had.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TAU_GRID = (0.0, 0.1, 0.2, 0.3, 0.5)


def prior_boost(
    counts: np.ndarray, groups: Sequence[Sequence[int]], taus: Sequence[float]
) -> np.ndarray:
    """(T,) score factors: prior ** -tau inside each group (add-one priors, so a
    tag unseen in training is not boosted without bound), 1 for free tags."""
    boost = np.ones(len(counts), dtype=np.float32)
    for group, tau in zip(groups, taus, strict=True):
        g = np.asarray(group, dtype=np.int64)
        prior = (counts[g] + 1.0) / (counts[g].sum() + len(g))
        boost[g] = prior ** -float(tau)
    return boost


def apply_boost(
    proba: np.ndarray, boost: np.ndarray, groups: Sequence[Sequence[int]]
) -> np.ndarray:
    """Scale each group's scores by boost, then rescale them so the group's top
    score is what it was: the ranking inside the group changes, the scale that
    the facet's threshold was tuned on does not."""
    out = np.array(proba, dtype=np.float32, copy=True)
    if not len(out):
        return out
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        if np.all(boost[g] == 1.0):
            continue
        scaled = out[:, g] * boost[g]
        top = np.maximum(scaled.max(axis=1, keepdims=True), 1e-12)
        out[:, g] = scaled / top * out[:, g].max(axis=1, keepdims=True)
    return out


def facet_scores(proba: np.ndarray, Y: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """(macro-F1 over the facet's tags present in Y, accuracy) of the argmax rule
    on the products that carry the facet."""
    present = Y[:, g].any(axis=1)
    truth = Y[present][:, g]
    best = proba[present][:, g].argmax(axis=1)
    pred = np.zeros_like(truth)
    pred[np.arange(len(best)), best] = True
    tp = (pred & truth).sum(axis=0)
    denom = pred.sum(axis=0) + truth.sum(axis=0)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(f1[truth.any(axis=0)].mean()), float((best == truth.argmax(axis=1)).mean())


def tune_taus(
    proba: np.ndarray,
    Y: np.ndarray,
    counts: np.ndarray,
    groups: Sequence[Sequence[int]],
    grid: Sequence[float] = TAU_GRID,
) -> list[float]:
    """Per group, the tau with the best macro-F1 on validation among those whose
    accuracy is at least that of tau = 0 (no adjustment)."""
    Y = np.asarray(Y, dtype=bool)
    taus = []
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        if not Y[:, g].any():
            taus.append(0.0)
            continue
        scores = [
            facet_scores(apply_boost(proba, prior_boost(counts, [group], [tau]), [group]), Y, g)
            for tau in grid
        ]
        taus.append(float(grid[best_macro_keeping_accuracy(scores)]))
    return taus


def best_macro_keeping_accuracy(scores: Sequence[tuple[float, float]]) -> int:
    """Index of the best macro-F1 among the (macro-F1, accuracy) candidates whose
    accuracy is at least the first's (the first is "change nothing"); ties go to
    the earliest, the mildest change."""
    allowed = [i for i, (_, accuracy) in enumerate(scores) if accuracy >= scores[0][1]]
    return max(allowed, key=lambda i: scores[i][0])

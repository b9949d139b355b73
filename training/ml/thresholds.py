"""Per-tag decision thresholds tuned on validation data, and the decision rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .types import TagSpec

GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)
DEFAULT_THRESHOLD = 0.5
# Below this many validation positives a tag's own best threshold is noise; it
# gets the threshold that is best for all such tags together.
MIN_POSITIVES_FOR_OWN_THRESHOLD = 5


def f1_over_grid(proba: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """F1 (pooled over the given columns) at each grid threshold."""
    pred = proba[None, ...] >= grid.reshape(-1, *([1] * proba.ndim))
    axes = tuple(range(1, pred.ndim))
    tp = (pred & truth[None]).sum(axis=axes)
    fp = (pred & ~truth[None]).sum(axis=axes)
    fn = (~pred & truth[None]).sum(axis=axes)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def free_columns(n_tags: int, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """The tag columns outside every single-valued facet (decided by threshold)."""
    grouped = {j for g in groups for j in g}
    return np.array([j for j in range(n_tags) if j not in grouped], dtype=np.int64)


def best_free_blend(
    base: np.ndarray,
    vote: np.ndarray,
    Y: np.ndarray,
    columns: np.ndarray,
    grid: Sequence[float],
) -> float:
    """The grid weight w whose blend (1 - w) * base + w * vote gives the columns
    the best summed F1, each column at its own best threshold (validation data)."""
    totals = [
        sum(
            f1_over_grid((1 - w) * base[:, j] + w * vote[:, j], Y[:, j], GRID).max()
            for j in columns
        )
        for w in grid
    ]
    return float(grid[int(np.argmax(totals))])


def _best(grid: np.ndarray, scores: np.ndarray) -> float:
    """The middle of the best plateau: the F1 curve is often flat at its top, and
    its middle generalises better than its edge."""
    best = scores.max()
    return float(np.median(grid[scores >= best - 1e-9]))


def tune_thresholds(
    proba: np.ndarray,
    Y: np.ndarray,
    groups: Sequence[Sequence[int]] = (),
    min_positives: int = MIN_POSITIVES_FOR_OWN_THRESHOLD,
    grid: np.ndarray = GRID,
) -> np.ndarray:
    """(T,) thresholds maximising F1 on validation data.

    - A tag outside a group gets the threshold that maximises its own F1 when it has
      at least min_positives positives; the others share the threshold that
      maximises their pooled F1.
    - A group (a single-valued facet) is decided by argmax, and its best tag is kept
      only when its score reaches the group's threshold: one threshold per group,
      tuned on the group's pooled F1 under that rule.
    """
    Y = np.asarray(Y, dtype=bool)
    n_tags = proba.shape[1]
    thresholds = np.full(n_tags, DEFAULT_THRESHOLD, dtype=np.float32)
    grouped = {j for g in groups for j in g}
    free = np.array([j for j in range(n_tags) if j not in grouped], dtype=np.int64)
    if len(proba) == 0:
        return thresholds

    if len(free):
        positives = Y[:, free].sum(axis=0)
        own = free[positives >= min_positives]
        rare = free[positives < min_positives]
        for j in own:
            thresholds[j] = _best(grid, f1_over_grid(proba[:, j], Y[:, j], grid))
        if len(rare):
            pooled = f1_over_grid(proba[:, rare], Y[:, rare], grid)
            thresholds[rare] = _best(grid, pooled) if Y[:, rare].any() else DEFAULT_THRESHOLD

    loose_grid = np.concatenate([[0.0], grid])
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        sub = proba[:, g]
        best = sub.argmax(axis=1)
        top = sub[np.arange(len(sub)), best]
        onehot = np.zeros_like(Y[:, g])
        onehot[np.arange(len(sub)), best] = True
        scores = np.array([_pooled_f1(onehot & (top >= t)[:, None], Y[:, g]) for t in loose_grid])
        thresholds[g] = _best(loose_grid, scores) if Y[:, g].any() else DEFAULT_THRESHOLD
    return thresholds


def _pooled_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = (pred & truth).sum()
    denom = 2 * tp + (pred & ~truth).sum() + (~pred & truth).sum()
    return float(2 * tp / denom) if denom else 0.0


def decide(
    proba: np.ndarray, thresholds: np.ndarray, groups: Sequence[Sequence[int]] = ()
) -> np.ndarray:
    """(n, T) bool: a free tag is selected at or above its threshold; in a group
    (single-valued facet) only the best-scoring tag may be, at or above its own."""
    selected = proba >= thresholds[None, :]
    rows = np.arange(len(proba))
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        best = g[proba[:, g].argmax(axis=1)] if len(proba) else g[:0]
        keep = proba[rows, best] >= thresholds[best]
        selected[:, g] = False
        selected[rows, best] = keep
    return selected


def facet_groups(tags: Sequence[TagSpec]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for j, tag in enumerate(tags):
        if tag.single_valued:
            groups.setdefault(tag.facet, []).append(j)
    return list(groups.values())

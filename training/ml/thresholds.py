"""Per-tag decision thresholds tuned on validation data, and the decision rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .types import TagSpec

GRID = np.round(np.arange(0.02, 0.96, 0.01), 2)
DEFAULT_THRESHOLD = 0.5
# Below this many validation positives a tag's own best threshold is noise; it
# gets the threshold that is best for all such tags together.
MIN_POSITIVES_FOR_OWN_THRESHOLD = 5
# No threshold below this: at 0 a tag is selected on every product, whatever it scores.
THRESHOLD_FLOOR = 0.02
# Validation products that must carry a single-valued facet before it gets its own
# threshold; below, it takes the one tuned on all facets together.
MIN_FACET_SUPPORT = 5
# Pseudo-count of the shrinkage: the F1 curve a threshold is tuned on, from n
# positives (or facet products), is (n * own + k * parent) / (n + k), the parent
# the facet's pooled curve (then that of all tags).
SHRINKAGE = 5.0
# Weight of a tag's share in the pooled (micro) F1 beside its own F1, when a
# free tag's threshold is tuned (see `_micro_gain`); 0 tunes on its own F1 alone.
# Measured by bench/threshold_objective.py (docs/benchmarks.md, "Threshold
# objective"): on OpenBG 0.1 raised micro-F1 with every seed for about nothing
# of macro-F1; larger weights traded more macro-F1 for micro-F1.
MICRO_WEIGHT = 0.1


@dataclass(frozen=True)
class ThresholdPolicy:
    """How far thresholds trust the validation data they are tuned on."""

    floor: float = THRESHOLD_FLOOR
    min_positives: int = MIN_POSITIVES_FOR_OWN_THRESHOLD
    min_facet_support: int = MIN_FACET_SUPPORT
    shrinkage: float = SHRINKAGE
    micro_weight: float = MICRO_WEIGHT

    @classmethod
    def legacy(cls, min_positives: int = MIN_POSITIVES_FOR_OWN_THRESHOLD) -> ThresholdPolicy:
        """The rule before issue #17: no floor (single-valued facets could tune to
        0.0), any support, no shrinkage, each tag on its own F1 alone (no micro
        weight). Kept for side-by-side benchmarks."""
        return cls(
            floor=0.0,
            min_positives=min_positives,
            min_facet_support=1,
            shrinkage=0.0,
            micro_weight=0.0,
        )


def counts_over_grid(proba: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(3, len(grid)) true positives, false positives and false negatives (pooled
    over the given columns) at each grid threshold."""
    pred = proba[None, ...] >= grid.reshape(-1, *([1] * proba.ndim))
    return _confusion(pred, truth[None], axes=tuple(range(1, pred.ndim)))


def _confusion(
    pred: np.ndarray, truth: np.ndarray, axes: tuple[int, ...] | None = None
) -> np.ndarray:
    """True positives, false positives and false negatives, summed over `axes`
    (None: over everything), stacked on a new first axis."""
    return np.stack(
        [
            (pred & truth).sum(axis=axes),
            (pred & ~truth).sum(axis=axes),
            (~pred & truth).sum(axis=axes),
        ]
    )


def f1_over_grid(proba: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """F1 (pooled over the given columns) at each grid threshold."""
    return _f1_of_counts(counts_over_grid(proba, truth, grid))


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
    min_positives: int | None = None,
    grid: np.ndarray = GRID,
    policy: ThresholdPolicy | None = None,
    facets: Sequence[str] | None = None,
) -> np.ndarray:
    """(T,) thresholds maximising F1 on validation data, under `policy`.

    - A tag outside a group gets the threshold that maximises its own F1 when it has
      at least min_positives positives, its F1 curve shrunk towards its facet's
      pooled one (itself shrunk towards that of all free tags pooled); with
      policy.micro_weight, that F1 (over the number of tags) plus the weighted
      share the tag adds to the pooled F1 of all free tags (_micro_gain). The
      others share the threshold that maximises their pooled F1. `facets` names
      each column's facet (None: one facet for all).
    - A group (a single-valued facet) is decided by argmax, and its best tag is kept
      only when its score reaches the group's threshold: one threshold per group,
      tuned on the group's pooled F1 under that rule when enough validation products
      carry the facet (else the threshold of all groups pooled), its F1 curve
      shrunk towards the pooled one.
    - Nothing goes below policy.floor.
    """
    policy = policy or ThresholdPolicy()
    if min_positives is not None:
        policy = replace(policy, min_positives=min_positives)
    Y = np.asarray(Y, dtype=bool)
    n_tags = proba.shape[1]
    thresholds = np.full(n_tags, DEFAULT_THRESHOLD, dtype=np.float32)
    if len(proba) == 0:
        return thresholds
    free = free_columns(n_tags, groups)
    if len(free):
        facet_of = list(facets) if facets is not None else [""] * n_tags
        _tune_free(proba, Y, free, facet_of, policy, grid[grid >= policy.floor], thresholds)
    if groups:
        _tune_groups(proba, Y, groups, policy, _group_grid(grid, policy.floor), thresholds)
    return thresholds


def shrink(own: np.ndarray, parent: np.ndarray, n: float, strength: float) -> np.ndarray:
    """(n * own + strength * parent) / (n + strength): own when strength is 0. Used
    on F1 curves over the grid (not on thresholds): the threshold then maximises
    an F1 that borrows from the parent's as much as the own data is thin, and
    never lands on a cliff of its own curve that averaging two thresholds could
    cross."""
    if strength <= 0:
        return own
    return (n * own + strength * parent) / (n + strength)


def _tune_free(
    proba: np.ndarray,
    Y: np.ndarray,
    free: np.ndarray,
    facet_of: Sequence[str],
    policy: ThresholdPolicy,
    grid: np.ndarray,
    out: np.ndarray,
) -> None:
    positives = Y[:, free].sum(axis=0)
    own = free[positives >= policy.min_positives]
    rare = free[positives < policy.min_positives]
    if len(rare):
        pooled = f1_over_grid(proba[:, rare], Y[:, rare], grid)
        out[rare] = _best(grid, pooled) if Y[:, rare].any() else DEFAULT_THRESHOLD
    if not len(own):
        return
    parents = _facet_curves(proba, Y, free, facet_of, policy, grid)
    counts: dict[int, np.ndarray] = {}
    curves: dict[int, np.ndarray] = {}
    for j in own:
        counts[j] = counts_over_grid(proba[:, j], Y[:, j], grid)
        curve = _f1_of_counts(counts[j])
        parent = parents.get(facet_of[j], curve)
        curves[j] = shrink(curve, parent, float(Y[:, j].sum()), policy.shrinkage)
        out[j] = _best(grid, curves[j])
    if policy.micro_weight <= 0:
        return
    pooled = _pooled_counts(proba[:, free], Y[:, free], out[free])
    for j in own:
        gain = _micro_gain(counts[j], pooled)
        out[j] = _best(grid, curves[j] / len(out) + policy.micro_weight * gain)


def _pooled_counts(proba: np.ndarray, Y: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(3,) true positives, false positives and false negatives of the columns
    at their thresholds."""
    return _confusion(proba >= thresholds[None, :], Y)


def _micro_gain(counts: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """How one tag's threshold moves the pooled F1 of all free tags, over the
    grid: `counts` are the tag's own (counts_over_grid), `pooled` those of all
    free tags at their thresholds (_pooled_counts).

    With F the pooled F1 and D = 2TP + FP + FN at the thresholds tuned on each
    tag's own F1, a tag adding t true and f false positives moves it by about
    ((2 - F) t - F f) / D: a selection pays when it is right more often than
    F / 2. A tag's own F1 pays from a lower precision where the tag is hard
    (its best threshold sits near its own F1 / 2), so hard tags alone would
    flood the pooled counts with false positives; the weighted sum of both keeps
    rare tags' recall (macro-F1) and trims what costs the pool (micro-F1)."""
    tp, fp, fn = pooled
    denom = 2 * tp + fp + fn
    if denom == 0:
        return np.zeros(counts.shape[1])
    f1 = float(_f1_of_counts(pooled))
    return ((2 - f1) * counts[0] - f1 * counts[1]) / denom


def _facet_curves(
    proba: np.ndarray,
    Y: np.ndarray,
    free: np.ndarray,
    facet_of: Sequence[str],
    policy: ThresholdPolicy,
    grid: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per facet, the F1 curve of its free tags pooled, shrunk towards the one of
    all free tags pooled (only the tags with validation positives)."""
    if policy.shrinkage <= 0:
        return {}
    seen = free[Y[:, free].any(axis=0)]
    if not len(seen):
        return {}
    overall = f1_over_grid(proba[:, seen], Y[:, seen], grid)
    by_facet: dict[str, list[int]] = {}
    for j in seen:
        by_facet.setdefault(facet_of[j], []).append(int(j))
    return {
        facet: shrink(
            f1_over_grid(proba[:, cols], Y[:, cols], grid),
            overall,
            float(Y[:, cols].sum()),
            policy.shrinkage,
        )
        for facet, cols in by_facet.items()
    }


def _group_grid(grid: np.ndarray, floor: float) -> np.ndarray:
    """The grid of a group's threshold: from the floor; with no floor, from 0.0
    (take the argmax whatever it scores), the legacy rule."""
    if floor <= 0:
        return np.concatenate([[0.0], grid])
    return grid[grid >= floor]


def _group_counts(proba: np.ndarray, Y: np.ndarray, g: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(3, len(grid)) true positives, false positives and false negatives of the
    argmax-then-threshold rule at each grid threshold."""
    sub = proba[:, g]
    best = sub.argmax(axis=1)
    rows = np.arange(len(sub))
    top = sub[rows, best]
    correct = Y[rows, g[best]]
    chosen = top[None, :] >= grid[:, None]
    tp = (chosen & correct[None, :]).sum(axis=1)
    fp = (chosen & ~correct[None, :]).sum(axis=1)
    fn = int(Y[:, g].sum()) - tp
    return np.stack([tp, fp, fn])


def _f1_of_counts(counts: np.ndarray) -> np.ndarray:
    tp, fp, fn = counts
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _tune_groups(
    proba: np.ndarray,
    Y: np.ndarray,
    groups: Sequence[Sequence[int]],
    policy: ThresholdPolicy,
    grid: np.ndarray,
    out: np.ndarray,
) -> None:
    """One threshold per single-valued facet (see tune_thresholds)."""
    arrays = [np.asarray(group, dtype=np.int64) for group in groups]
    counts = [_group_counts(proba, Y, g, grid) for g in arrays]
    support = [int(Y[:, g].any(axis=1).sum()) for g in arrays]
    pooled = np.zeros((3, len(grid)), dtype=np.int64)
    for c, n in zip(counts, support, strict=True):
        if n:
            pooled += c
    parent = _f1_of_counts(pooled)
    for g, c, n in zip(arrays, counts, support, strict=True):
        if n == 0:
            out[g] = DEFAULT_THRESHOLD
        elif n < policy.min_facet_support:
            out[g] = _best(grid, parent)
        else:
            out[g] = _best(grid, shrink(_f1_of_counts(c), parent, n, policy.shrinkage))


def cap_per_facet(
    selected: np.ndarray,
    proba: np.ndarray,
    facets: Sequence[Sequence[int]],
    cap: int,
    exempt: np.ndarray | None = None,
) -> np.ndarray:
    """The selection with at most `cap` tags per facet and product, the
    best-scoring of those selected; selections marked in `exempt` (n, T) are
    kept and not counted."""
    out = np.array(selected, dtype=bool, copy=True)
    capped = out if exempt is None else out & ~exempt
    rows = np.arange(len(out))[:, None]
    for facet in facets:
        f = np.asarray(facet, dtype=np.int64)
        if len(f) <= cap or not len(out):
            continue
        ranked = np.argsort(-np.where(capped[:, f], proba[:, f], -np.inf), axis=1, kind="stable")
        drop = f[ranked[:, cap:]]
        out[rows, drop] &= ~capped[rows, drop]
    return out


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


def facet_columns(tags: Sequence[TagSpec]) -> list[list[int]]:
    """The columns of every facet, single-valued or not."""
    facets: dict[str, list[int]] = {}
    for j, tag in enumerate(tags):
        facets.setdefault(tag.facet, []).append(j)
    return list(facets.values())

"""Per-product priorities: uncertainty against each tag's own threshold, one
decision per single-valued facet, and the long-tail boost."""

import numpy as np

from .context import RARE_TAG, UNCERTAIN, QueryContext

LONG_TAIL_POWER = 0.5  # a tag's weight is (1 + positives labeled so far) ** -LONG_TAIL_POWER
_EPS = 1e-6


# -- per-tag quantities ---------------------------------------------------------------


def threshold_scaled(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Map each score so that its tag's threshold lands on 0.5, keeping 0 and 1 fixed."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    t = np.clip(np.asarray(thresholds, dtype=np.float64), _EPS, 1.0 - _EPS)
    below = 0.5 * p / t
    above = 0.5 + 0.5 * (p - t) / (1.0 - t)
    return np.where(p <= t, below, above)


def tag_margin(q: np.ndarray) -> np.ndarray:
    """Binary margin |P(yes) - P(no)| of threshold-scaled scores: 0 = on the threshold."""
    return np.abs(2.0 * q - 1.0)


def binary_entropy(q: np.ndarray) -> np.ndarray:
    q = np.clip(q, _EPS, 1.0 - _EPS)
    return -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))


def long_tail_weights(label_counts: np.ndarray | None, n_tags: int) -> np.ndarray:
    """1/sqrt(1 + positives labeled so far): a tag seen 3 times weighs 4x one seen 63 times."""
    if label_counts is None:
        return np.ones(n_tags)
    counts = np.asarray(label_counts, dtype=np.float64)
    if counts.shape != (n_tags,):
        raise ValueError(f"label_counts has shape {counts.shape}, expected ({n_tags},)")
    return (1.0 + np.maximum(counts, 0.0)) ** -LONG_TAIL_POWER


def decisions(ctx: QueryContext) -> tuple[np.ndarray, np.ndarray]:
    """The decisions the model makes per product, as (margins, rarity weights), both
    (n, U): one per free tag (its threshold-scaled margin; its tag's long-tail
    weight) and one per single-valued facet (its best tag's margin to that tag's
    threshold and, while that tag is chosen, the gap to the runner-up, whichever
    is smaller, since either could flip the facet's decision; the rarer of the
    tags involved)."""
    q = threshold_scaled(ctx.proba, ctx.thresholds)
    margins = tag_margin(q)
    weights = long_tail_weights(ctx.label_counts, q.shape[1])
    if not ctx.groups:
        return margins, np.broadcast_to(weights, margins.shape)
    grouped = {j for g in ctx.groups for j in g}
    free = [j for j in range(q.shape[1]) if j not in grouped]
    unit_margins = [margins[:, free]]
    unit_weights = [np.broadcast_to(weights[free], (ctx.n, len(free)))]
    rows = np.arange(ctx.n)
    for group in ctx.groups:
        g = np.asarray(group, dtype=np.int64)
        order = np.argsort(-ctx.proba[:, g], axis=1, kind="stable")
        best = g[order[:, 0]]
        margin = margins[rows, best]
        weight = weights[best]
        if len(g) > 1:
            # The runner-up matters only while the best is chosen: below its
            # threshold the facet stays empty whatever the order of the rest.
            second = g[order[:, 1]]
            chosen = ctx.proba[rows, best] >= ctx.thresholds[best]
            gap = np.where(chosen, ctx.proba[rows, best] - ctx.proba[rows, second], np.inf)
            margin = np.minimum(margin, gap)
            weight = np.where(chosen, np.maximum(weight, weights[second]), weight)
        unit_margins.append(margin[:, None])
        unit_weights.append(weight[:, None])
    return np.hstack(unit_margins), np.hstack(unit_weights)


def decision_margins(ctx: QueryContext) -> np.ndarray:
    return decisions(ctx)[0]


# -- product priorities ---------------------------------------------------------------


# Each decision's confidence is (1 + margin) / 2: for a free tag that is
# max(q, 1 - q) of its threshold-scaled score, the classic binary formulas' input.


def least_confidence(ctx: QueryContext) -> np.ndarray:
    """1 - P(every decision on the product is right), decisions taken as independent."""
    confidence = (1.0 + decision_margins(ctx)) / 2.0
    return 1.0 - np.exp(np.log(np.clip(confidence, _EPS, 1.0)).sum(axis=1))


def margin_min(ctx: QueryContext) -> np.ndarray:
    """The product's single closest call: minus its smallest decision margin."""
    margins = decision_margins(ctx)
    return -margins.min(axis=1) if margins.shape[1] else np.zeros(ctx.n)


def margin_mean(ctx: QueryContext) -> np.ndarray:
    margins = decision_margins(ctx)
    return -margins.mean(axis=1) if margins.shape[1] else np.zeros(ctx.n)


def mean_entropy(ctx: QueryContext) -> np.ndarray:
    margins = decision_margins(ctx)
    if not margins.shape[1]:
        return np.zeros(ctx.n)
    return binary_entropy((1.0 + margins) / 2.0).mean(axis=1)


def rare_uncertainty(ctx: QueryContext) -> np.ndarray:
    """The long-tail boost: each decision's closeness to its threshold (1 - margin),
    weighted by the rarity of the tags involved, summed over the product. A product
    that may carry a tag seen only a few times outranks one unsure about a common tag.
    (Weighting the expected positives, q, instead of 1 - margin found as many rare
    tags on Myntra and learned slower on Flipkart: bench/active_learning.py.)"""
    margins, weights = decisions(ctx)
    return ((1.0 - margins) * weights).sum(axis=1)


def _percentile(values: np.ndarray) -> np.ndarray:
    """Rank in [0, 1] (ties share the mean rank) so unlike scales can be averaged."""
    n = len(values)
    if n <= 1:
        return np.ones(n)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    # Equal values get equal ranks, or the stable sort would favour low indices.
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse] / (n - 1)


def blend(uncertainty: np.ndarray, rare: np.ndarray) -> tuple[np.ndarray, list[str]]:
    u, r = _percentile(uncertainty), _percentile(rare)
    reasons = [RARE_TAG if ri > ui else UNCERTAIN for ui, ri in zip(u, r, strict=True)]
    return 0.5 * (u + r), reasons

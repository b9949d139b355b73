"""Per-product priorities: uncertainty against each tag's own threshold, one
decision per single-valued facet, the long-tail boost and the rare-tag search.

modAL does the uncertainty measures, over the adapters of `estimator.py`:
least confidence (`modAL.uncertainty.classifier_uncertainty`), margin
(`classifier_margin`) and entropy (`classifier_entropy`) per decision, and the
closest call of a product (`modAL.multilabel.min_confidence`, Esuli &
Sebastiani's MinConfidence over the decisions' confidences). Project code, where
modAL has nothing: the margins of single-valued facets (`decisions`), how the
per-decision measures add up to one product (least confidence assumes the
decisions independent; margin and entropy are averaged), the long-tail weights
and the rare-tag search.
"""

from collections.abc import Callable

import numpy as np
from modAL.multilabel import min_confidence
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty

from .context import RARE_TAG, UNCERTAIN, QueryContext
from .estimator import ThresholdScaledTagger, threshold_scaled

LONG_TAIL_POWER = 0.5  # a tag's weight is (1 + positives labeled so far) ** -LONG_TAIL_POWER
# The rare-tag search works on "open" tags: fewer than OPEN_BELOW positives labeled
# (the long-tail figure of bench/active_learning.py).
OPEN_BELOW = 5
# A tag with no labeled positive yet counts this much: only its name in the text
# (or a zero-shot score) says a product may carry it.
UNSEEN_WEIGHT = 0.5
_EPS = 1e-6


# -- per-tag quantities ---------------------------------------------------------------


def tag_margin(q: np.ndarray) -> np.ndarray:
    """Binary margin |P(yes) - P(no)| of threshold-scaled scores: 0 = on the threshold."""
    return np.abs(2.0 * q - 1.0)


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


def tagger(ctx: QueryContext) -> ThresholdScaledTagger:
    """The modAL-facing estimator over the context's scores and decisions."""
    return ThresholdScaledTagger(
        ctx.proba, ctx.thresholds, ctx.groups, margins=decision_margins(ctx)
    ).fit()


def _per_decision(ctx: QueryContext, measure: Callable[..., np.ndarray]) -> np.ndarray:
    """(n, U) a modAL measure of every decision, through the binary decision view."""
    view = tagger(ctx).decision_view()
    values = np.asarray(measure(view, view.all_rows()), dtype=np.float64)
    return values.reshape(view.n_products_, view.n_decisions_)


def least_confidence(ctx: QueryContext) -> np.ndarray:
    """1 - P(every decision on the product is right), decisions taken as
    independent; each decision's 1 - P(right) is modAL's classifier_uncertainty."""
    uncertainty = _per_decision(ctx, classifier_uncertainty)
    return 1.0 - np.exp(np.log(np.clip(1.0 - uncertainty, _EPS, 1.0)).sum(axis=1))


def margin_min(ctx: QueryContext) -> np.ndarray:
    """The product's single closest call: minus its smallest decision margin.
    modAL.multilabel.min_confidence finds each product's least confident decision
    (confidence (1 + margin) / 2); every product's value is returned, not only the
    top ones, since the queue orders them all."""
    model = tagger(ctx)
    if not ctx.n or not model.margins_.shape[1]:
        return np.zeros(ctx.n)
    rows = np.arange(ctx.n)
    index, confidence = min_confidence(model.confidence_view(), rows, n_instances=ctx.n)
    lowest = np.empty(ctx.n)
    lowest[index] = confidence
    return -(2.0 * lowest - 1.0)


def margin_mean(ctx: QueryContext) -> np.ndarray:
    """Minus the mean of modAL's classifier_margin over the product's decisions."""
    margins = _per_decision(ctx, classifier_margin)
    return -margins.mean(axis=1) if margins.shape[1] else np.zeros(ctx.n)


def mean_entropy(ctx: QueryContext) -> np.ndarray:
    """The mean of modAL's classifier_entropy (nats) over the product's decisions."""
    entropy = _per_decision(ctx, classifier_entropy)
    return entropy.mean(axis=1) if entropy.shape[1] else np.zeros(ctx.n)


def rare_uncertainty(ctx: QueryContext) -> np.ndarray:
    """The long-tail boost: each decision's closeness to its threshold (1 - margin),
    weighted by the rarity of the tags involved, summed over the product. A product
    that may carry a tag seen only a few times outranks one unsure about a common tag.
    (Weighting the expected positives, q, instead of 1 - margin found as many rare
    tags on Myntra and learned slower on Flipkart: bench/active_learning.py.)"""
    margins, weights = decisions(ctx)
    return ((1.0 - margins) * weights).sum(axis=1)


def _counts(ctx: QueryContext) -> np.ndarray:
    n_tags = ctx.proba.shape[1]
    if ctx.label_counts is None:
        return np.zeros(n_tags)
    counts = np.asarray(ctx.label_counts, dtype=np.float64)
    if counts.shape != (n_tags,):
        raise ValueError(f"label_counts has shape {counts.shape}, expected ({n_tags},)")
    return counts


def open_tag_weights(ctx: QueryContext) -> np.ndarray:
    """(T,) how much finding one more positive of each tag is worth to the search:
    1 for a seen tag still under OPEN_BELOW positives that can still get there
    (its positives so far, scaled from the labeled to all products, reach
    OPEN_BELOW: a tag seen once in 400 products will not find four more in 800),
    UNSEEN_WEIGHT for a tag never seen, 0 for the rest."""
    counts = _counts(ctx)
    feasible = np.ones(len(counts), dtype=bool)
    if ctx.n_labeled:
        feasible = counts * (ctx.n_labeled + ctx.n) / ctx.n_labeled >= OPEN_BELOW
    weights = np.where((counts > 0) & (counts < OPEN_BELOW) & feasible, 1.0, 0.0)
    return np.where(counts == 0, UNSEEN_WEIGHT, weights)


def rare_search(ctx: QueryContext) -> np.ndarray:
    """The expected positives of open tags on each product: its score for each
    tag (plus 1 where the tag's name is in its text, at most 1 in all) weighted by
    open_tag_weights. A greedy oracle that knows every label picks the product
    carrying most open tags; this is its expectation under the model."""
    p = np.clip(np.asarray(ctx.proba, dtype=np.float64), 0.0, 1.0)
    if ctx.name_votes is not None:
        p = np.minimum(1.0, p + np.asarray(ctx.name_votes, dtype=np.float64))
    return p @ open_tag_weights(ctx)


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

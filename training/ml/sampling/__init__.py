"""Active-learning query strategies: which unlabeled products a reviewer sees next.

Everything here is numpy over a score matrix, so the Celery ranking task, the
simulation and the tests share one implementation. modAL's query functions take a
fitted single-label classifier and break ties with the global numpy RNG; ours take
per-tag scores with per-tag thresholds and a caller's Generator (reproducible
simulations), so the formulas are written out here instead.

Each tag's score is first mapped through a monotone, piecewise-linear transform that
sends the tag's own decision threshold to 0.5 (0 -> 0, t -> 0.5, 1 -> 1). A product
sitting exactly on a tag's threshold is then maximally uncertain for that tag, and the
classic binary formulas (least confidence, margin, entropy) apply unchanged. A
single-valued facet is one decision (argmax), so it contributes one margin: the gap
between its two best tags, or its best tag's distance to its threshold if smaller.

The default (diverse_long_tail) averages the percentile ranks of the closest call
and of the rarity-weighted uncertainty, then takes at most one product per k-means
cluster of the top candidates. bench/active_learning.py compares every strategy.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .context import DIVERSE, EXPLORATION, RARE_TAG, UNCERTAIN, QueryContext, Ranking
from .scores import (
    blend,
    least_confidence,
    margin_mean,
    margin_min,
    mean_entropy,
    rare_uncertainty,
    threshold_scaled,
)
from .selection import POOL_FACTOR, cold_start_pick, diverse_pick, interleave, sorted_desc

__all__ = [
    "DEFAULT_STRATEGY",
    "DIVERSE",
    "EXPLORATION",
    "POOL_FACTOR",
    "RARE_TAG",
    "STRATEGIES",
    "UNCERTAIN",
    "QueryContext",
    "Ranking",
    "Strategy",
    "rank",
    "resolve",
    "threshold_scaled",
]

logger = logging.getLogger(__name__)


# -- strategies -----------------------------------------------------------------------


ScoreFn = Callable[[QueryContext], tuple[np.ndarray, list[str]]]


@dataclass(frozen=True)
class Strategy:
    name: str
    score: ScoreFn | None  # (priority, reason per product); None: needs no model
    diverse: bool = False
    description: str = ""


def _single(fn: Callable[[QueryContext], np.ndarray], reason: str) -> ScoreFn:
    def score(ctx: QueryContext) -> tuple[np.ndarray, list[str]]:
        return fn(ctx), [reason] * ctx.n

    return score


def _long_tail(ctx: QueryContext) -> tuple[np.ndarray, list[str]]:
    return blend(margin_min(ctx), rare_uncertainty(ctx))


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in [
        Strategy("random", None, description="uniformly at random (the control)"),
        Strategy("least_confidence", _single(least_confidence, UNCERTAIN)),
        Strategy("margin_min", _single(margin_min, UNCERTAIN)),
        Strategy("margin_mean", _single(margin_mean, UNCERTAIN)),
        Strategy("entropy", _single(mean_entropy, UNCERTAIN)),
        Strategy("long_tail", _long_tail, description="closest call + long-tail boost"),
        Strategy("diverse_long_tail", _long_tail, diverse=True, description="+ batch diversity"),
        Strategy("cold_start", None, diverse=True, description="k-means representatives"),
    ]
}
DEFAULT_STRATEGY = "diverse_long_tail"
# "default" names whichever strategy bench/active_learning.py measured best.
STRATEGIES["default"] = STRATEGIES[DEFAULT_STRATEGY]


def resolve(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"unknown query strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"
        ) from None


def rank(
    strategy: str,
    ctx: QueryContext,
    batch_size: int,
    rng: np.random.Generator,
    exploration_share: float = 0.0,
) -> Ranking:
    """Choose the next `batch_size` products to review (best first) and a priority for
    every product. `exploration_share` of the batch is drawn uniformly from the rest,
    so even a confident model keeps meeting products it never asked about."""
    spec = resolve(strategy)
    if not 0.0 <= exploration_share <= 1.0:
        raise ValueError(f"exploration_share must be in [0, 1], got {exploration_share}")
    n = ctx.n
    k = max(0, min(batch_size, n))
    has_embeddings = ctx.embeddings is not None and len(ctx.embeddings) == n

    if spec.score is None:
        base = rng.random(n)
        reasons = [EXPLORATION] * n
        if spec.name == "cold_start" and not has_embeddings:
            logger.warning("cold_start without embeddings: falling back to random order")
    else:
        if ctx.proba.ndim != 2 or ctx.proba.shape[1] != len(ctx.thresholds):
            raise ValueError(
                f"proba {ctx.proba.shape} does not match {len(ctx.thresholds)} thresholds"
            )
        base, reasons = spec.score(ctx)
        base = np.asarray(base, dtype=np.float64)
    ranked = sorted_desc(base, rng)

    n_explore = int(round(exploration_share * k))
    k_main = k - n_explore
    if spec.name == "cold_start" and has_embeddings:
        main = cold_start_pick(ctx.embeddings, k_main, rng)
        reasons = [DIVERSE] * n
    elif spec.diverse and has_embeddings:
        main = diverse_pick(ranked, base, ctx.embeddings, k_main, rng)
    else:
        if spec.diverse:
            logger.warning("%s without embeddings: batch diversity skipped", spec.name)
        main = ranked[:k_main]

    taken = np.zeros(n, dtype=bool)
    taken[main] = True
    rest = np.flatnonzero(~taken)
    explore = rng.choice(rest, size=min(n_explore, len(rest)), replace=False).tolist()
    order = np.asarray(interleave(main.tolist(), explore), dtype=np.int64)

    explored = set(explore)
    reason = [EXPLORATION if i in explored else reasons[i] for i in order]
    # Lift the batch above every other product, in batch order, so a queue sorted by
    # priority serves exactly this batch first and the rest by the strategy's score.
    priority = base.copy()
    if len(order):
        top = priority.max() if n else 0.0
        priority[order] = top + np.arange(len(order), 0, -1, dtype=np.float64)
    return Ranking(order=order, priority=priority, reason=reason)

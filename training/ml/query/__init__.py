"""Active-learning query strategies: which unlabeled products a reviewer sees next.

Everything here works on a score matrix (products x tags, the tagger's stored
scores) with per-tag thresholds, so the Celery ranking task, the simulation and
the tests share one implementation.

modAL does the work where it has the function (the modules say which):
- `estimator.py` turns the score matrix into the fitted scikit-learn classifier
  modAL's functions expect (`predict_proba` over threshold-scaled scores: each
  tag's own threshold maps to 0.5, 0 and 1 stay), with a binary view per decision;
- `scores.py`: least confidence, margin and entropy per decision
  (`modAL.uncertainty`), a product's closest call (`modAL.multilabel.min_confidence`);
- `selection.py`: the order with random tie-breaking
  (`modAL.utils.selection.shuffled_argmax`, numpy's global RNG seeded from the
  caller's Generator for the call and restored after it, so seeded runs repeat),
  the ranked batch (`modAL.batch.ranked_batch`) and the information density
  (`modAL.density.information_density`).

Project code where modAL has nothing: the margin of a single-valued facet (one
argmax-then-threshold decision: the gap between its two best tags, or its best
tag's distance to its threshold if smaller), the long-tail boost, the rare-tag
search (expected positives of tags still under five labeled positives, with the
tags' names found in the text), the k-means batch diversity and cold start, and
mixing a batch from several of them. modAL's `ActiveLearner` is not used: its
`teach`/`fit` break on scikit-learn >= 1.8, and the tagger trains elsewhere.

The default (diverse_long_tail) averages the percentile ranks of the closest call
(modAL's MinConfidence) and of the rarity-weighted uncertainty, then takes at most
one product per k-means cluster of the top candidates: it needed the fewest labels
on both catalogues in bench/active_learning.py. diverse_rare_search (a quarter of
each batch from the rare-tag search, RARE_SHARE) and rare_search (all of it) find
more rare tags, for more labels: the choice for a catalogue whose long tail
matters more than its overall F1. The bench also measured rare-tag shares that
follow the open long tail (the share of seen tags, or of labeled products, still
under five positives): they find more rare tags on Flipkart's very long tail but
spend Myntra's first batches on it and learn slower there.

Reviewers' mistakes (`mistakes.py`, cleanlab's confident learning over
out-of-fold scores) live here too: they are the queue's other reason to show a
product. (The stopping forecast is `training.ml.stopping`, outside this package,
because the dashboard imports it and modAL loads torch on import.)
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .context import (
    DIVERSE,
    EXPLORATION,
    POSSIBLE_MISTAKE,
    RARE_TAG,
    UNCERTAIN,
    QueryContext,
    Ranking,
)
from .estimator import ThresholdScaledTagger, threshold_scaled
from .scores import (
    blend,
    least_confidence,
    margin_mean,
    margin_min,
    mean_entropy,
    rare_search,
    rare_uncertainty,
)
from .selection import (
    POOL_FACTOR,
    cold_start_pick,
    density_weighted,
    diverse_pick,
    interleave,
    ranked_batch_pick,
    sorted_desc,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "DIVERSE",
    "EXPLORATION",
    "POOL_FACTOR",
    "POSSIBLE_MISTAKE",
    "RARE_TAG",
    "STRATEGIES",
    "UNCERTAIN",
    "QueryContext",
    "Ranking",
    "Strategy",
    "ThresholdScaledTagger",
    "rank",
    "resolve",
    "threshold_scaled",
]

logger = logging.getLogger(__name__)

# The share of a diverse_rare_search batch the rare-tag search fills.
RARE_SHARE = 0.25

# -- strategies -----------------------------------------------------------------------


ScoreFn = Callable[[QueryContext], tuple[np.ndarray, list[str]]]
ShareFn = Callable[[QueryContext], float]

# How a strategy turns priorities into a batch.
TOP = "top"  # the highest priorities
KMEANS = "kmeans"  # at most one per k-means cluster of the top candidates (project code)
RANKED_BATCH = "ranked_batch"  # modAL.batch.ranked_batch over the top candidates
DENSITY = "density"  # the top candidates weighted by modAL.density.information_density


@dataclass(frozen=True)
class Strategy:
    name: str
    score: ScoreFn | None  # (priority, reason per product); None: needs no model
    select: str = TOP
    # The share of each batch the rare-tag search fills (None: none).
    rare_share: ShareFn | None = None
    description: str = ""

    @property
    def diverse(self) -> bool:
        """Whether the batch is chosen with the products' embeddings."""
        return self.select != TOP or self.name == "cold_start"


def _single(fn: Callable[[QueryContext], np.ndarray], reason: str) -> ScoreFn:
    def score(ctx: QueryContext) -> tuple[np.ndarray, list[str]]:
        return fn(ctx), [reason] * ctx.n

    return score


def _long_tail(ctx: QueryContext) -> tuple[np.ndarray, list[str]]:
    return blend(margin_min(ctx), rare_uncertainty(ctx))


def _rare_share(ctx: QueryContext) -> float:
    return RARE_SHARE


_CLOSEST = _single(margin_min, UNCERTAIN)

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in [
        Strategy("random", None, description="uniformly at random (the control)"),
        Strategy("least_confidence", _single(least_confidence, UNCERTAIN)),
        Strategy("margin_min", _CLOSEST),
        Strategy("margin_mean", _single(margin_mean, UNCERTAIN)),
        Strategy("entropy", _single(mean_entropy, UNCERTAIN)),
        Strategy("long_tail", _long_tail, description="closest call + long-tail boost"),
        Strategy("diverse_long_tail", _long_tail, select=KMEANS, description="+ batch diversity"),
        Strategy("ranked_batch", _CLOSEST, select=RANKED_BATCH, description="modAL's ranked batch"),
        Strategy("density_margin", _CLOSEST, select=DENSITY, description="x information density"),
        Strategy(
            "rare_search",
            _single(rare_search, RARE_TAG),
            description="expected positives of tags under 5",
        ),
        Strategy(
            "diverse_rare_search",
            _CLOSEST,
            select=KMEANS,
            rare_share=_rare_share,
            description="varied closest calls + the rare-tag search",
        ),
        Strategy("cold_start", None, description="k-means representatives"),
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


def _embeddings(ctx: QueryContext) -> np.ndarray | None:
    """The embeddings, when there is one per product."""
    e = ctx.embeddings
    return e if e is not None and len(e) == ctx.n else None


def _base(
    spec: Strategy, ctx: QueryContext, rng: np.random.Generator
) -> tuple[np.ndarray, list[str]]:
    if spec.score is None:
        return rng.random(ctx.n), [EXPLORATION] * ctx.n
    if ctx.proba.ndim != 2 or ctx.proba.shape[1] != len(ctx.thresholds):
        raise ValueError(f"proba {ctx.proba.shape} does not match {len(ctx.thresholds)} thresholds")
    base, reasons = spec.score(ctx)
    return np.asarray(base, dtype=np.float64), reasons


def _main_pick(
    spec: Strategy,
    ranked: np.ndarray,
    base: np.ndarray,
    embeddings: np.ndarray | None,
    k: int,
    rng: np.random.Generator,
) -> np.ndarray:
    if spec.select == TOP:
        return ranked[:k]
    if embeddings is None:
        logger.warning("%s without embeddings: batch diversity skipped", spec.name)
        return ranked[:k]
    if spec.select == RANKED_BATCH:
        return ranked_batch_pick(ranked, base, embeddings, k)
    if spec.select == DENSITY:
        return density_weighted(ranked, base, embeddings, k)
    return diverse_pick(ranked, base, embeddings, k, rng)


def _rare_pick(
    ctx: QueryContext, taken: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """The k products (outside `taken`) with the most expected open-tag positives."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    search = rare_search(ctx)
    search[taken] = -np.inf
    return sorted_desc(search, rng)[:k]


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
    embeddings = _embeddings(ctx)
    base, reasons = _base(spec, ctx, rng)
    ranked = sorted_desc(base, rng)

    n_explore = round(exploration_share * k)
    k_main = k - n_explore
    n_rare = round(spec.rare_share(ctx) * k_main) if spec.rare_share and n else 0
    if spec.name == "cold_start":
        if embeddings is None:
            logger.warning("cold_start without embeddings: falling back to random order")
            main = ranked[:k_main]
        else:
            main = cold_start_pick(embeddings, k_main, rng)
            reasons = [DIVERSE] * n
    else:
        main = _main_pick(spec, ranked, base, embeddings, k_main - n_rare, rng)
    rare = _rare_pick(ctx, main, n_rare, rng)
    # The rare-tag picks spread through the batch, so a reviewer who stops early
    # has seen both searches.
    main_list = interleave(main.tolist(), rare.tolist())

    taken = np.zeros(n, dtype=bool)
    taken[main_list] = True
    rest = np.flatnonzero(~taken)
    explore = rng.choice(rest, size=min(n_explore, len(rest)), replace=False).tolist()
    order = np.asarray(interleave(main_list, explore), dtype=np.int64)

    explored, searched = set(explore), set(rare.tolist())
    reason = [
        EXPLORATION if i in explored else RARE_TAG if i in searched else reasons[i] for i in order
    ]
    # Lift the batch above every other product, in batch order, so a queue sorted by
    # priority serves exactly this batch first and the rest by the strategy's score.
    priority = base.copy()
    if len(order):
        top = priority.max() if n else 0.0
        priority[order] = top + np.arange(len(order), 0, -1, dtype=np.float64)
    return Ranking(order=order, priority=priority, reason=reason)

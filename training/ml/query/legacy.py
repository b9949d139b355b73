"""The hand-written measures modAL replaced, kept only for bench/active_learning.py's
side-by-side run (strategies named legacy_*). To be removed after that run."""

import numpy as np

from .context import QueryContext
from .scores import decision_margins

_EPS = 1e-6


def sorted_desc(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by priority, highest first; ties broken by the caller's RNG."""
    perm = rng.permutation(len(priority))
    return perm[np.argsort(-priority[perm], kind="stable")]


def binary_entropy(q: np.ndarray) -> np.ndarray:
    q = np.clip(q, _EPS, 1.0 - _EPS)
    return -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))


def least_confidence(ctx: QueryContext) -> np.ndarray:
    confidence = (1.0 + decision_margins(ctx)) / 2.0
    return 1.0 - np.exp(np.log(np.clip(confidence, _EPS, 1.0)).sum(axis=1))


def margin_min(ctx: QueryContext) -> np.ndarray:
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

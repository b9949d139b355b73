"""Turning priorities into a batch: tie-breaking, batch diversity, cold start and
the spreading of exploration picks.

modAL does the ordering (`modAL.utils.selection.shuffled_argmax`: shuffle, then a
stable sort, so equal priorities come in random order), the ranked batch
(`modAL.batch.ranked_batch`, Cardoso et al.'s uncertainty-and-dissimilarity
batch) and the information density (`modAL.density.information_density`).
modAL draws its shuffles from numpy's *global* RNG, so every call here seeds that
RNG from the caller's Generator for the length of the call and puts the global
state back afterwards (`_seeded_global_rng`): a seeded ranking is reproducible
and nothing else in the process sees its RNG move. (The global RNG is one per
process: a Celery prefork worker runs one task at a time, so no other thread
draws from it meanwhile.) The k-means diversity and the cold start are project
code: modAL has neither.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from modAL.batch import ranked_batch
from modAL.density import information_density
from modAL.utils.selection import shuffled_argmax

POOL_FACTOR = 5  # diversity picks a batch out of the top POOL_FACTOR x batch candidates
_EPS = 1e-6


@contextmanager
def _seeded_global_rng(rng: np.random.Generator) -> Iterator[None]:
    """numpy's global RNG seeded from `rng` (one draw) inside the block, its
    previous state restored after it."""
    state = np.random.get_state()
    np.random.seed(int(rng.integers(2**32 - 1)))
    try:
        yield
    finally:
        np.random.set_state(state)


def sorted_desc(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by priority, highest first; ties in an order drawn from the caller's
    RNG (modAL's shuffled_argmax over all of them, reversed to best first)."""
    values = np.asarray(priority, dtype=np.float64)
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    with _seeded_global_rng(rng):
        index, _ = shuffled_argmax(values, n_instances=len(values))
    return np.asarray(index[::-1], dtype=np.int64)


class _NoLabels:
    """What modAL.batch.ranked_batch reads of a learner: no transform, no labeled
    set (so it starts the batch from the candidate closest to all the others)."""

    on_transformed = False
    X_training = None


def _candidates(ranked: np.ndarray, embeddings: np.ndarray, k: int) -> np.ndarray:
    """The distinct top POOL_FACTOR*k of the ranking (wider when that is mostly copies)."""
    pool = _distinct(ranked[: POOL_FACTOR * k], embeddings)
    if len(pool) < k:
        pool = _distinct(ranked, embeddings)
    return pool


def _unit(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / spread if spread > 0 else np.ones(len(values))


def ranked_batch_pick(
    ranked: np.ndarray, priority: np.ndarray, embeddings: np.ndarray, k: int
) -> np.ndarray:
    """k products by modAL's ranked batch over the top candidates: each pick the
    best balance of priority (scaled to [0, 1]) and distance to the picks before it,
    in pick order."""
    if k <= 0:
        return ranked[:0]
    pool = _candidates(ranked, embeddings, k)
    if len(pool) <= k:
        return np.concatenate([pool, np.setdiff1d(ranked, pool, assume_unique=True)])[:k]
    index, _ = ranked_batch(
        _NoLabels(),
        unlabeled=embeddings[pool],
        uncertainty_scores=_unit(priority[pool]),
        n_instances=k,
        metric="euclidean",
        n_jobs=None,
    )
    return pool[np.asarray(index, dtype=np.int64)]


def density_weighted(
    ranked: np.ndarray, priority: np.ndarray, embeddings: np.ndarray, k: int
) -> np.ndarray:
    """The top candidates re-ordered by priority (scaled to [0, 1]) times modAL's
    information density among them (mean cosine similarity, as 1 / (1 + distance)):
    a close call typical of many others before an outlier's."""
    if k <= 0:
        return ranked[:0]
    pool = _candidates(ranked, embeddings, k)
    density = information_density(embeddings[pool], metric="cosine")
    weighted = _unit(priority[pool]) * density
    order = np.argsort(-weighted, kind="stable")
    return pool[order][:k]


def _distinct(candidates: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """The first occurrence (in candidate order) of each distinct embedding row."""
    _, first = np.unique(embeddings[candidates], axis=0, return_index=True)
    return candidates[np.sort(first)]


def _kmeans_labels(
    x: np.ndarray, k: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1)))
    km.fit(x, sample_weight=weights)
    return km.labels_, km.cluster_centers_


def diverse_pick(
    ranked: np.ndarray,
    priority: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """k products from the top of `ranked`, at most one per k-means cluster of the
    top POOL_FACTOR*k candidates (clusters weighted by priority, the highest-priority
    member of each is taken). Identical embeddings are collapsed first, so a batch
    never holds two copies of a product while distinct ones exist."""
    if k <= 0:
        return ranked[:0]
    pool = _distinct(ranked[: POOL_FACTOR * k], embeddings)
    if len(pool) < k:
        # The top of the ranking is mostly duplicates: widen to every candidate.
        pool = _distinct(ranked, embeddings)
    if len(pool) <= k:
        chosen = list(pool)
    else:
        weights = priority[pool] - priority[pool].min() + _EPS
        labels, _ = _kmeans_labels(embeddings[pool], k, rng, weights)
        chosen = []
        for cluster in range(k):
            members = pool[labels == cluster]  # in ranking order, so [0] is the best
            if len(members):
                chosen.append(members[0])
        # k-means may leave a cluster empty; top up with the best distinct leftovers.
        taken = set(chosen)
        chosen += [i for i in pool if i not in taken][: k - len(chosen)]
    if len(chosen) < k:  # the whole set has fewer than k distinct embeddings
        taken = set(chosen)
        chosen += [i for i in ranked if i not in taken][: k - len(chosen)]
    chosen_arr = np.asarray(chosen, dtype=np.int64)
    return chosen_arr[np.argsort(-priority[chosen_arr], kind="stable")]


def cold_start_pick(embeddings: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """One representative per k-means cluster of the whole set: the product nearest
    its centroid, biggest clusters first."""
    n = len(embeddings)
    candidates = _distinct(rng.permutation(n), embeddings)
    k = min(k, n)
    if len(candidates) <= k:
        taken = set(candidates.tolist())
        rest = [i for i in rng.permutation(n) if i not in taken]
        return np.concatenate([candidates, np.asarray(rest[: k - len(candidates)], np.int64)])
    x = embeddings[candidates]
    labels, centers = _kmeans_labels(x, k, rng)
    dist = np.linalg.norm(x - centers[labels], axis=1)
    sizes = np.bincount(labels, minlength=k)
    picks = []
    for cluster in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(labels == cluster)
        if len(members):
            picks.append(candidates[members[np.argmin(dist[members])]])
    taken = set(picks)
    picks += [i for i in candidates if i not in taken][: k - len(picks)]
    return np.asarray(picks, dtype=np.int64)


def interleave(main: list[int], extra: list[int]) -> list[int]:
    """Spread `extra` evenly through `main` so exploration is not all at the end."""
    if not extra:
        return list(main)
    total = len(main) + len(extra)
    slots = {round((j + 1) * total / (len(extra) + 1)) - 1 for j in range(len(extra))}
    while len(slots) < len(extra):  # rounding collided; fill the first free slots
        slots.add(min(set(range(total)) - slots))
    out, mi, ei = [], iter(main), iter(extra)
    for pos in range(total):
        out.append(next(ei) if pos in slots else next(mi))
    return out

"""Turning priorities into a batch: tie-breaking, batch diversity, cold start and
the spreading of exploration picks."""

import numpy as np

POOL_FACTOR = 5  # diversity picks a batch out of the top POOL_FACTOR x batch candidates
_EPS = 1e-6


def sorted_desc(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by priority, highest first; ties broken by the caller's RNG."""
    perm = rng.permutation(len(priority))
    return perm[np.argsort(-priority[perm], kind="stable")]


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
    slots = {int(round((j + 1) * total / (len(extra) + 1))) - 1 for j in range(len(extra))}
    while len(slots) < len(extra):  # rounding collided; fill the first free slots
        slots.add(min(set(range(total)) - slots))
    out, mi, ei = [], iter(main), iter(extra)
    for pos in range(total):
        out.append(next(ei) if pos in slots else next(mi))
    return out

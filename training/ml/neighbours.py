"""A nearest-neighbour vote over the training products.

Catalogues are full of near-duplicates (one product line in many colours, the
same item listed twice). A vote of the most similar training products carries
that structure, which a small parametric head smooths away; it helps most on
noisy facets (Myntra's season) and on rare tags. Similarity is the embedding
cosine plus the TF-IDF cosine (two L2-normalised channels, so halved).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .priors import facet_scores
from .thresholds import best_free_blend, free_columns

K = 10
TEMPERATURE = 0.05
BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
_QUERY_CHUNK = 512  # bounds the (queries x training products) similarity matrix


class NeighbourVote:
    def __init__(
        self,
        E: np.ndarray,
        X: sp.csr_matrix,
        Y: np.ndarray,
        k: int = K,
        temperature: float = TEMPERATURE,
    ) -> None:
        self.E = np.ascontiguousarray(E, dtype=np.float32)
        self.X_t = sp.csr_matrix(X, dtype=np.float32).T.tocsr()
        self.X = sp.csr_matrix(X, dtype=np.float32)
        self.Y = sp.csr_matrix(np.asarray(Y, dtype=np.float32))
        self.k = k
        self.temperature = temperature

    def proba(self, E: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        """(n, T): the similarity-weighted share of the k nearest training products
        that carry each tag."""
        n, n_ref = len(E), len(self.E)
        out = np.zeros((n, self.Y.shape[1]), dtype=np.float32)
        if n == 0 or n_ref == 0:
            return out
        k = min(self.k, n_ref)
        for start in range(0, n, _QUERY_CHUNK):
            stop = min(start + _QUERY_CHUNK, n)
            sims = E[start:stop] @ self.E.T
            sims += 0.5 * (X[start:stop] @ self.X_t).toarray()
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(sims, nearest, axis=1)
            weights = np.exp((top - top.max(axis=1, keepdims=True)) / self.temperature)
            weights /= weights.sum(axis=1, keepdims=True)
            rows = np.repeat(np.arange(stop - start), k)
            vote = sp.csr_matrix(
                (weights.ravel(), (rows, nearest.ravel())), shape=(stop - start, n_ref)
            )
            out[start:stop] = (vote @ self.Y).toarray()
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "nn_embeddings": self.E,
            "nn_lex_indptr": self.X.indptr.astype(np.int64),
            "nn_lex_indices": self.X.indices.astype(np.int64),
            "nn_lex_data": self.X.data.astype(np.float32),
            "nn_lex_shape": np.asarray(self.X.shape, dtype=np.int64),
            "nn_labels_indptr": self.Y.indptr.astype(np.int64),
            "nn_labels_indices": self.Y.indices.astype(np.int64),
            "nn_labels_shape": np.asarray(self.Y.shape, dtype=np.int64),
            "nn_params": np.asarray([self.k, self.temperature], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> NeighbourVote:
        X = sp.csr_matrix(
            (a["nn_lex_data"], a["nn_lex_indices"], a["nn_lex_indptr"]),
            shape=tuple(a["nn_lex_shape"]),
        )
        Y_indices = a["nn_labels_indices"]
        Y = sp.csr_matrix(
            (np.ones(len(Y_indices), dtype=np.float32), Y_indices, a["nn_labels_indptr"]),
            shape=tuple(a["nn_labels_shape"]),
        )
        k, temperature = a["nn_params"]
        vote = cls(a["nn_embeddings"], X, np.zeros((0, 0)), int(k), float(temperature))
        vote.Y = Y
        return vote


def tune_blend(
    head: np.ndarray,
    vote: np.ndarray,
    Y: np.ndarray,
    groups: Sequence[Sequence[int]],
    grid: Sequence[float] = BLEND_GRID,
) -> np.ndarray:
    """(T,) weight of the vote in (1 - w) * head + w * vote, chosen on validation
    data: per single-valued facet by the accuracy of its argmax, and one weight
    for all other tags by their summed best-threshold F1."""
    Y = np.asarray(Y, dtype=bool)
    weights = np.zeros(head.shape[1], dtype=np.float32)
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        if not Y[:, g].any():
            continue
        local = np.arange(len(g))
        scores = [
            facet_scores((1 - w) * head[:, g] + w * vote[:, g], Y[:, g], local)[1] for w in grid
        ]
        weights[g] = grid[int(np.argmax(scores))]
    free = free_columns(head.shape[1], groups)
    scored = free[Y[:, free].any(axis=0)] if len(free) else free
    if len(scored):
        weights[free] = best_free_blend(head, vote, Y, scored, grid)
    return weights

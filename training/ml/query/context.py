"""What a query strategy reads and returns."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNCERTAIN = "uncertain"
RARE_TAG = "rare_tag"
EXPLORATION = "exploration"
DIVERSE = "diverse"
POSSIBLE_MISTAKE = "possible_mistake"  # a reviewed product the model contradicts (mistakes.py)


@dataclass
class QueryContext:
    proba: np.ndarray  # (n, T) scores of unlabeled products
    thresholds: np.ndarray  # (T,) each tag's own decision threshold
    label_counts: np.ndarray | None = None  # (T,) positives labeled so far per tag
    embeddings: np.ndarray | None = None  # (n, d) for batch diversity / cold start
    # Tag columns of each single-valued facet (TaggerModel.groups): decided by argmax,
    # so their uncertainty is the gap between the best two, one call per facet.
    groups: Sequence[Sequence[int]] = ()
    # (n, T) 1 where a tag's name is written in the product's text (names.NameVote):
    # the rare-tag search's evidence for tags the model has seen too rarely to score.
    name_votes: np.ndarray | None = None
    n_labeled: int | None = None  # products labeled so far (the rare-tag search's feasibility)

    @classmethod
    def cold(cls, embeddings: np.ndarray) -> "QueryContext":
        """A context for the cold start: no model yet, so no scores, only embeddings."""
        n = len(embeddings)
        return cls(
            proba=np.zeros((n, 0), np.float32), thresholds=np.zeros(0), embeddings=embeddings
        )

    @property
    def n(self) -> int:
        return int(self.proba.shape[0])


@dataclass
class Ranking:
    order: np.ndarray  # indices into the n products, best first (length min(batch_size, n))
    priority: np.ndarray  # (n,) higher = review sooner; the batch sits above everything else
    reason: list[str]  # per product in `order`: uncertain | rare_tag | exploration | diverse

"""The scikit-learn face modAL's query functions expect, over a score matrix.

modAL's measures and strategies take a fitted classifier and call its
`predict_proba(X)` (and, for some, `predict(X)`). The tagger is trained elsewhere
and its scores are stored per product, so these adapters are "fitted" on a score
matrix and `X` is a vector of row numbers into it: modAL never sees the texts,
only the scores, exactly as the Celery ranking task does.

- `ThresholdScaledTagger`: the multi-label view, one row per product.
  `predict_proba(rows)` is each tag's score mapped through the monotone,
  piecewise-linear transform that sends the tag's own decision threshold to 0.5
  (0 -> 0, t -> 0.5, 1 -> 1), so a product sitting on a tag's threshold is
  maximally uncertain for it and the classic binary formulas apply unchanged;
  `predict(rows)` is the tagger's decisions (threshold; argmax inside a
  single-valued facet). `confidence_view()` and `decision_view()` give the two
  views below.
- `DecisionConfidence`: (products, decisions) the confidence of each decision the
  tagger makes on a product, (1 + margin) / 2: the input of
  `modAL.multilabel.min_confidence` (Esuli & Sebastiani's MinConfidence).
- `DecisionView`: one row per (product, decision), a binary distribution
  (P(the decision flips), P(it holds)): the input of `modAL.uncertainty`'s
  `classifier_uncertainty`, `classifier_margin` and `classifier_entropy`.

A decision is a free tag (its threshold-scaled margin |2q - 1|) or a single-valued
facet (one argmax: its margin is project code in `scores.decisions`, because
modAL has no notion of a facet decided by argmax-then-threshold).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

_EPS = 1e-6


def threshold_scaled(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Map each score so that its tag's threshold lands on 0.5, keeping 0 and 1 fixed."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    t = np.clip(np.asarray(thresholds, dtype=np.float64), _EPS, 1.0 - _EPS)
    below = 0.5 * p / t
    above = 0.5 + 0.5 * (p - t) / (1.0 - t)
    return np.where(p <= t, below, above)


def _rows(X: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    rows = np.asarray(X, dtype=np.int64).reshape(-1)
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise IndexError(f"row numbers must lie in [0, {n}), got {rows.min()}..{rows.max()}")
    return rows


class ThresholdScaledTagger(ClassifierMixin, BaseEstimator):
    """The tagger's stored scores as a fitted multi-label classifier over row numbers."""

    def __init__(
        self,
        proba: np.ndarray,
        thresholds: np.ndarray,
        groups: Sequence[Sequence[int]] = (),
        margins: np.ndarray | None = None,
    ) -> None:
        self.proba = proba
        self.thresholds = thresholds
        self.groups = groups
        # (n, U) margins of the tagger's decisions (scores.decisions); None: one per tag.
        self.margins = margins

    def fit(self, X: object = None, y: object = None) -> ThresholdScaledTagger:
        """Nothing to learn: the scores are the model. Checks their shapes."""
        proba = np.asarray(self.proba)
        if proba.ndim != 2 or proba.shape[1] != len(self.thresholds):
            raise ValueError(
                f"proba {proba.shape} does not match {len(self.thresholds)} thresholds"
            )
        self.classes_ = np.arange(proba.shape[1])
        self.scaled_ = threshold_scaled(proba, np.asarray(self.thresholds))
        if self.margins is None:
            self.margins_ = np.abs(2.0 * self.scaled_ - 1.0)
        else:
            self.margins_ = np.asarray(self.margins, dtype=np.float64)
        return self

    @property
    def n(self) -> int:
        return int(np.asarray(self.proba).shape[0])

    def predict_proba(self, X: np.ndarray | Sequence[int]) -> np.ndarray:
        return self.scaled_[_rows(X, self.n)]

    def predict(self, X: np.ndarray | Sequence[int]) -> np.ndarray:
        """The tagger's decisions as 0/1: at or above the threshold, and only the
        best-scoring tag of a single-valued facet."""
        rows = _rows(X, self.n)
        q = self.scaled_[rows]
        selected = q >= 0.5
        index = np.arange(len(rows))
        for group in self.groups:
            g = np.asarray(group, dtype=np.int64)
            best = g[np.asarray(self.proba)[rows][:, g].argmax(axis=1)] if len(rows) else g[:0]
            keep = selected[index, best]
            selected[:, g] = False
            selected[index, best] = keep
        return selected.astype(np.int64)

    def confidence_view(self) -> DecisionConfidence:
        return DecisionConfidence(self.margins_).fit()

    def decision_view(self) -> DecisionView:
        return DecisionView(self.margins_).fit()


class DecisionConfidence(BaseEstimator):
    """(rows, decisions): how sure the tagger is of each decision, (1 + margin) / 2."""

    def __init__(self, margins: np.ndarray) -> None:
        self.margins = margins

    def fit(self, X: object = None, y: object = None) -> DecisionConfidence:
        self.confidence_ = (1.0 + np.asarray(self.margins, dtype=np.float64)) / 2.0
        self.classes_ = np.arange(self.confidence_.shape[1])
        return self

    def predict_proba(self, X: np.ndarray | Sequence[int]) -> np.ndarray:
        return self.confidence_[_rows(X, len(self.confidence_))]


class DecisionView(BaseEstimator):
    """One row per (product, decision), numbered product * U + decision: the
    binary distribution (P(flips), P(holds)) = ((1 - margin) / 2, (1 + margin) / 2).
    For a free tag that is (min(q, 1 - q), max(q, 1 - q)) of its threshold-scaled
    score: modAL's binary measures do not depend on the order of the classes."""

    classes_ = np.arange(2)

    def __init__(self, margins: np.ndarray) -> None:
        self.margins = margins

    def fit(self, X: object = None, y: object = None) -> DecisionView:
        margins = np.asarray(self.margins, dtype=np.float64)
        self.n_products_, self.n_decisions_ = margins.shape
        self.flat_ = np.clip(margins.reshape(-1), 0.0, 1.0)
        return self

    def all_rows(self) -> np.ndarray:
        return np.arange(len(self.flat_))

    def predict_proba(self, X: np.ndarray | Sequence[int]) -> np.ndarray:
        m = self.flat_[_rows(X, len(self.flat_))]
        return np.column_stack([(1.0 - m) / 2.0, (1.0 + m) / 2.0])

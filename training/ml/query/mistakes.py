"""Reviewers' mistakes: recorded decisions the model confidently contradicts.

Confident learning (Northcutt et al., PyPI `cleanlab`) finds label errors from a
model's *out-of-fold* scores: a model that has seen a product's label would have
learned the mistake along with it, so every reviewed product is scored by a model
trained without it (k folds). Here that model is regularised least squares onto
the 0/1 tag matrix over the encoder's embeddings (all tags in one solve per fold),
cheap enough to run at every re-ranking.

A *decision* is what a reviewer settled about a product:
- a single-valued facet (colour, type, ...): the one value approved. cleanlab sees
  it as a multi-class label over the facet's values (`cleanlab.filter`,
  `cleanlab.rank`), with the out-of-fold scores normalised over the values that
  occur among the reviewed products;
- a free tag: approved or not, a multi-label decision
  (`cleanlab.multilabel_classification`: per tag, issues and label quality).

`find_mistakes` returns every decision cleanlab's confident learning (the default
`prune_by_noise_rate` filter) calls an issue, most confident first (lowest label
quality, the self-confidence of the given label). `flag_mistakes` keeps at most a
share of all decisions: the admins' "possible mistake" share of the queue.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUT_OF_FOLDS = 5
RIDGE = 1.0  # L2 strength of the out-of-fold model (features are unit-norm embeddings)
MIN_DECISIONS = 50  # fewer reviewed products than this: nothing is flagged
_EPS = 1e-6


@dataclass
class Mistakes:
    """Decisions that look wrong, most confident first (arrays of equal length)."""

    rows: np.ndarray  # product row
    columns: np.ndarray  # the tag whose recorded decision is questioned
    approved: np.ndarray  # bool: the recorded decision (the tag approved, or not)
    score: np.ndarray  # out-of-fold score of that tag
    expected: np.ndarray  # the tag the model expects instead (a facet's best value; else the tag)
    expected_score: np.ndarray
    quality: np.ndarray  # cleanlab's label quality of the recorded decision: low = likely wrong
    decisions: int  # decisions examined

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def empty(cls, decisions: int = 0) -> Mistakes:
        ints, floats = np.zeros(0, np.int64), np.zeros(0)
        return cls(ints, ints, np.zeros(0, bool), floats, ints, floats, floats, decisions)

    def take(self, keep: np.ndarray) -> Mistakes:
        return Mistakes(
            self.rows[keep],
            self.columns[keep],
            self.approved[keep],
            self.score[keep],
            self.expected[keep],
            self.expected_score[keep],
            self.quality[keep],
            self.decisions,
        )


def out_of_fold_scores(
    features: np.ndarray,
    Y: np.ndarray,
    folds: int = OUT_OF_FOLDS,
    ridge: float = RIDGE,
    seed: int = 0,
) -> np.ndarray:
    """(n, T) scores in [0, 1], each row from a model fit without that row's fold:
    ridge regression onto the 0/1 matrix, every tag in one solve, bias unpenalised."""
    X = np.hstack([np.asarray(features, dtype=np.float64), np.ones((len(features), 1))])
    T = np.asarray(Y, dtype=np.float64)
    n = len(X)
    out = np.zeros(T.shape, dtype=np.float64)
    if n < 2:
        return out
    fold_of = np.random.default_rng(seed).permutation(n) % min(folds, n)
    penalty = np.full(X.shape[1], ridge)
    penalty[-1] = 0.0
    for k in range(min(folds, n)):
        train, test = fold_of != k, fold_of == k
        gram = X[train].T @ X[train]
        gram[np.diag_indices_from(gram)] += penalty + _EPS
        weights = np.linalg.solve(gram, X[train].T @ T[train])
        out[test] = X[test] @ weights
    return np.clip(out, 0.0, 1.0)


def _facet_mistakes(Y: np.ndarray, scores: np.ndarray, group: Sequence[int]) -> Mistakes | None:
    """Issues among the products that carry exactly one value of the facet."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    g = np.asarray(group, dtype=np.int64)
    rows = np.flatnonzero(Y[:, g].sum(axis=1) == 1)
    if not len(rows):
        return None
    given = g[Y[rows][:, g].argmax(axis=1)]
    classes = np.unique(given)  # cleanlab wants every class of pred_probs among the labels
    if len(classes) < 2:
        return None
    labels = np.searchsorted(classes, given)
    probs = np.clip(scores[np.ix_(rows, classes)], _EPS, None)
    probs /= probs.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some classes have few examples": expected
        # One process: cleanlab's default forks a pool, and a fork of a process
        # whose torch/OpenMP threads are running deadlocks (seen in the test suite).
        issues = find_label_issues(labels, probs, n_jobs=1)
        quality = get_label_quality_scores(labels, probs)
    best = probs.argmax(axis=1)
    keep = np.flatnonzero(issues & (best != labels))
    idx = rows[keep]
    return Mistakes(
        rows=idx,
        columns=given[keep],
        approved=np.ones(len(keep), dtype=bool),
        score=scores[idx, given[keep]],
        expected=classes[best[keep]],
        expected_score=scores[idx, classes[best[keep]]],
        quality=quality[keep],
        decisions=len(rows),
    )


def _free_mistakes(Y: np.ndarray, scores: np.ndarray, free: np.ndarray) -> Mistakes | None:
    """Issues among the free tags that have both approved and other products."""
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    positives = Y[:, free].sum(axis=0)
    cols = free[(positives > 0) & (positives < len(Y))]
    if not len(cols):
        return None
    labels = [np.flatnonzero(row).tolist() for row in Y[:, cols]]
    probs = np.clip(scores[:, cols], _EPS, 1.0 - _EPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # n_jobs=1 for the same reason as in _facet_mistakes: no forked pool.
        issues = np.asarray(find_multilabel_issues_per_class(labels, probs, n_jobs=1), dtype=bool)
        quality = np.asarray(get_label_quality_scores_per_class(labels, probs))
    if quality.shape != issues.shape:  # (K, N) in some cleanlab versions
        quality = quality.T
    rows, j = np.nonzero(issues)
    columns = cols[j]
    return Mistakes(
        rows=rows,
        columns=columns,
        approved=Y[rows, columns].astype(bool),
        score=scores[rows, columns],
        expected=columns,
        expected_score=scores[rows, columns],
        quality=quality[rows, j],
        decisions=len(Y) * len(cols),
    )


def find_mistakes(
    Y: np.ndarray, scores: np.ndarray, groups: Sequence[Sequence[int]] = ()
) -> Mistakes:
    """Every decision cleanlab calls a label issue, lowest label quality first.

    Y: (n, T) the reviewed products' decisions (True = approved; a reviewed
    product's other tags count as not approved). scores: (n, T) out-of-fold
    scores. groups: the tag columns of each single-valued facet."""
    Y = np.asarray(Y, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if Y.shape != scores.shape:
        raise ValueError(f"labels {Y.shape} and scores {scores.shape} differ in shape")
    if len(Y) < MIN_DECISIONS:
        return Mistakes.empty()
    grouped = {j for g in groups for j in g}
    free = np.array([j for j in range(Y.shape[1]) if j not in grouped], dtype=np.int64)
    parts = [_facet_mistakes(Y, scores, g) for g in groups if len(g) > 1]
    if len(free):
        parts.append(_free_mistakes(Y, scores, free))
    found = [p for p in parts if p is not None]
    if not found:
        return Mistakes.empty()
    arrays = {name: np.concatenate([getattr(p, name) for p in found]) for name in _ARRAYS}
    merged = Mistakes(**arrays, decisions=sum(p.decisions for p in found))
    order = np.lexsort((merged.columns, merged.rows, merged.quality))
    return merged.take(order)


_ARRAYS = ("rows", "columns", "approved", "score", "expected", "expected_score", "quality")


def flag_mistakes(mistakes: Mistakes, share: float) -> Mistakes:
    """The most confident issues, at most `share` of the decisions examined."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    cap = round(share * mistakes.decisions)
    return mistakes.take(np.arange(min(cap, len(mistakes))))


def detect(
    features: np.ndarray,
    Y: np.ndarray,
    groups: Sequence[Sequence[int]] = (),
    share: float = 1.0,
    seed: int = 0,
) -> Mistakes:
    """Out-of-fold scores, confident learning, then at most `share` of the decisions."""
    Y = np.asarray(Y, dtype=bool)
    if len(Y) < MIN_DECISIONS:
        return Mistakes.empty()
    scores = out_of_fold_scores(features, Y, seed=seed)
    return flag_mistakes(find_mistakes(Y, scores, groups), share)

"""Calibrated scores: per-tag monotone maps from a scorer's raw score to the
probability that the tag is right, fitted on validation data.

Raw scores are blends (head, neighbour vote, name vote) and are not
probabilities: a multi-valued tag whose name is never written in the text tops
out at 1 - the name vote's weight, whatever the head thinks. Each tag gets a
Platt map, sigmoid(a * logit(score) + b) with a > 0, fitted hierarchically so
that thin data borrows strength: one map for all tags, one per facet pulled
towards it, one per free tag pulled towards its facet's (a maximum a posteriori
fit with a Gaussian prior centred on the parent's parameters). A single-valued
facet keeps one map for all its tags, so the ranking inside it, and the argmax
that decides it, never change.

A Platt map is a fixed shape; where the shape is wrong for many tags at once
(all free tags share the name vote's cap), an isotonic map fitted on the
pooled Platt outputs corrects it: one per facet with enough validation data,
one for the other free tags, one for the other single-valued facets' tags.

Every map is strictly increasing, so thresholds tuned on calibrated scores
select exactly what the same thresholds mapped back would select on raw ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .types import TagSpec

EPS = 1e-6
MIN_SLOPE = 0.05  # keeps every map strictly increasing
MAX_SLOPE = 20.0
# Prior strength (in units of validation pairs) pulling a facet's map towards the
# global one, and a free tag's map towards its facet's.
FACET_STRENGTH = 20.0
TAG_STRENGTH = 20.0
_NEWTON_STEPS = 50
# The pooled isotonic maps: fitted on at most this many equal-count bins of
# validation pairs (a smooth map with few knots), and only with enough pairs and
# positives to say anything.
ISOTONIC_BINS = 256
MIN_ISOTONIC_PAIRS = 1000
MIN_ISOTONIC_POSITIVES = 50
# Weight of the identity mixed into an isotonic map, so that it stays strictly
# increasing across the isotonic fit's flat steps.
TIE_BREAK = 1e-3


def _logit(proba: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(proba, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_platt(
    z: np.ndarray,
    y: np.ndarray,
    prior: tuple[float, float] = (1.0, 0.0),
    strength: float = 0.0,
) -> tuple[float, float]:
    """(a, b) minimising the log loss of sigmoid(a * z + b) against y plus
    strength / 2 * |(a, b) - prior|^2 (Newton's method; a kept in
    [MIN_SLOPE, MAX_SLOPE])."""
    z = np.asarray(z, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if not len(z):
        return prior
    a, b = prior
    center = np.asarray(prior, dtype=np.float64)
    ridge = max(strength, 1e-6)
    for _ in range(_NEWTON_STEPS):
        p = _sigmoid(a * z + b)
        r = p - y
        w = p * (1 - p)
        grad = np.array([r @ z, r.sum()]) + ridge * (np.array([a, b]) - center)
        hess = np.array([[w @ (z * z), w @ z], [w @ z, w.sum()]]) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a = float(np.clip(a - step[0], MIN_SLOPE, MAX_SLOPE))
        b = float(b - step[1])
        if np.abs(step).max() < 1e-6:
            break
    return a, b


def fit_isotonic(scores: np.ndarray, truth: np.ndarray) -> tuple[list[float], list[float]]:
    """Knots (x, y) of a non-decreasing map from scores in [0, 1] to the observed
    rate of truth, by isotonic regression on equal-count bins; ([], []) when there
    are too few pairs or positives."""
    from sklearn.isotonic import IsotonicRegression

    scores = np.asarray(scores, dtype=np.float64).ravel()
    truth = np.asarray(truth, dtype=np.float64).ravel()
    if len(scores) < MIN_ISOTONIC_PAIRS or truth.sum() < MIN_ISOTONIC_POSITIVES:
        return [], []
    order = np.argsort(scores, kind="stable")
    bins = np.array_split(order, min(ISOTONIC_BINS, len(order)))
    x = np.array([scores[b].mean() for b in bins])
    y = np.array([truth[b].mean() for b in bins])
    weight = np.array([len(b) for b in bins], dtype=np.float64)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(x, y, sample_weight=weight).predict(x)
    # One knot per block of equal fitted values, at the block's centre: linear
    # interpolation between them is strictly increasing, where a knot per bin
    # would leave flat steps that pile many products onto one calibrated score
    # (and a threshold there would switch them all at once).
    starts = np.flatnonzero(np.concatenate([[True], np.diff(fitted) > 0]))
    knots_x = np.add.reduceat(x * weight, starts) / np.add.reduceat(weight, starts)
    knots_y = fitted[starts]
    knots_x = np.concatenate([[0.0], knots_x, [1.0]])
    knots_y = np.concatenate([[min(0.0, knots_y[0])], knots_y, [max(1.0, knots_y[-1])]])
    return knots_x.tolist(), knots_y.tolist()


@dataclass
class Calibration:
    """Per-tag Platt maps, calibrated = sigmoid(slope * logit(raw) + intercept),
    then, for the columns in `pooled[k]`, the isotonic map of knots
    `knots[k]` (mixed with TIE_BREAK of the identity)."""

    slope: np.ndarray
    intercept: np.ndarray
    pooled: list[list[int]] = field(default_factory=list)
    knots: list[tuple[list[float], list[float]]] = field(default_factory=list)

    @classmethod
    def identity(cls, n_tags: int) -> Calibration:
        return cls(np.ones(n_tags), np.zeros(n_tags))

    def platt(self, proba: np.ndarray) -> np.ndarray:
        return _sigmoid(self.slope[None, :] * _logit(proba) + self.intercept[None, :])

    def apply(self, proba: np.ndarray) -> np.ndarray:
        out = self.platt(proba)
        for columns, (x, y) in zip(self.pooled, self.knots, strict=True):
            if columns and x:
                cols = np.asarray(columns, dtype=np.int64)
                mapped = np.interp(out[:, cols], x, y)
                out[:, cols] = (1 - TIE_BREAK) * mapped + TIE_BREAK * out[:, cols]
        return out.astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "slope": [float(v) for v in self.slope],
            "intercept": [float(v) for v in self.intercept],
            "pooled": [[int(j) for j in columns] for columns in self.pooled],
            "knots": [[list(x), list(y)] for x, y in self.knots],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            np.asarray(data["slope"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            [list(columns) for columns in data.get("pooled", [])],
            [(list(x), list(y)) for x, y in data.get("knots", [])],
        )


def fit_calibration(
    proba: np.ndarray,
    Y: np.ndarray,
    tags: Sequence[TagSpec],
    facet_strength: float = FACET_STRENGTH,
    tag_strength: float = TAG_STRENGTH,
    isotonic: bool = True,
) -> Calibration:
    """Maps fitted on validation scores `proba` (n, T) and labels `Y`: Platt maps
    global, then per facet, then per free tag; then the pooled isotonic maps
    (see the module docstring)."""
    Y = np.asarray(Y, dtype=bool)
    calibration = _fit_platt_maps(proba, Y, tags, facet_strength, tag_strength)
    if not isotonic or not len(proba):
        return calibration
    platt = calibration.platt(proba)
    facets: dict[str, list[int]] = {}
    for j, tag in enumerate(tags):
        facets.setdefault(tag.facet, []).append(j)
    # A facet with enough validation data gets its own isotonic map; the other
    # free tags share one, and so do the other single-valued facets' tags.
    rest: dict[bool, list[int]] = {False: [], True: []}
    for columns in facets.values():
        if not _add_isotonic(calibration, columns, platt, Y):
            rest[tags[columns[0]].single_valued].extend(columns)
    for columns in rest.values():
        _add_isotonic(calibration, sorted(columns), platt, Y)
    return calibration


def _add_isotonic(
    calibration: Calibration, columns: list[int], platt: np.ndarray, Y: np.ndarray
) -> bool:
    """Give the columns an isotonic map when their data is enough for one."""
    knots = fit_isotonic(platt[:, columns], Y[:, columns]) if columns else ([], [])
    if knots[0]:
        calibration.pooled.append(columns)
        calibration.knots.append(knots)
    return bool(knots[0])


def _fit_platt_maps(
    proba: np.ndarray,
    Y: np.ndarray,
    tags: Sequence[TagSpec],
    facet_strength: float,
    tag_strength: float,
) -> Calibration:
    z = _logit(proba)
    n_tags = z.shape[1]
    slope, intercept = np.ones(n_tags), np.zeros(n_tags)
    if not len(z):
        return Calibration(slope, intercept)
    overall = fit_platt(z, Y, strength=1.0)
    facets: dict[str, list[int]] = {}
    for j, tag in enumerate(tags):
        facets.setdefault(tag.facet, []).append(j)
    for columns in facets.values():
        cols = np.asarray(columns, dtype=np.int64)
        shared = fit_platt(z[:, cols], Y[:, cols], overall, facet_strength)
        slope[cols], intercept[cols] = shared
        if tags[columns[0]].single_valued:
            continue  # one map for the facet: its argmax stays the same
        for j in columns:
            slope[j], intercept[j] = fit_platt(z[:, j], Y[:, j], shared, tag_strength)
    return Calibration(slope, intercept)

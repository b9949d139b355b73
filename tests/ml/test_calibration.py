"""Calibrated scores (issue #17): reliable per score bin, order-preserving, saved."""

import json

import numpy as np

from training.ml.calibration import Calibration, fit_calibration
from training.ml.metrics import calibration_error, reliability
from training.ml.types import TagSpec

TAGS = [
    *(TagSpec.from_key(f"style:{j}") for j in range(4)),  # free tags
    *(TagSpec.from_key(f"color:{j}", single_valued=True) for j in range(3)),
]


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores as a blended scorer gives them: the free tags' true probability
    u shown as 0.7 * u (a name vote of weight 0.3 that never fires caps them at
    0.7), two of them also bent (u ** 2); a single-valued facet whose softmax is
    over-confident (its top score is right far less often than it says)."""
    rng = np.random.default_rng(seed)
    u = rng.beta(0.5, 0.5, (n, 4))
    raw = 0.7 * u
    raw[:, 2:] = u[:, 2:] ** 2
    Y = np.zeros((n, 7), dtype=bool)
    Y[:, :4] = rng.random((n, 4)) < u
    logits = rng.normal(0.0, 3.0, (n, 3))
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(3, p=np.sqrt(p) / np.sqrt(p).sum()) for p in softmax])
    Y[np.arange(n), 4 + truth] = True
    return np.concatenate([raw, softmax], axis=1).astype(np.float32), Y


def _worst_bin(scores: np.ndarray, truth: np.ndarray, min_pairs: int = 300) -> float:
    return max(
        abs(row["precision"] - row["mean_score"])
        for row in reliability(scores, truth)
        if row["n"] >= min_pairs
    )


def test_calibrated_scores_are_reliable_in_every_score_bin() -> None:
    # given: validation and test scores of the same miscalibrated scorer
    raw_val, Y_val = _scores(10000, seed=0)
    raw_test, Y_test = _scores(10000, seed=1)
    assert _worst_bin(raw_test, Y_test) > 0.15  # the defect: raw scores mislead

    # when
    calibration = fit_calibration(raw_val, Y_val, TAGS)
    scores = calibration.apply(raw_test)

    # then: observed precision within 0.05 of the mean score in every bin
    assert _worst_bin(scores, Y_test) <= 0.05
    assert calibration_error(scores, Y_test) < 0.03
    # also for the capped free tags alone, whose raw scores never pass 0.7
    assert scores[:, :2].max() > 0.9
    assert _worst_bin(scores[:, :2], Y_test[:, :2]) <= 0.05


def test_calibration_keeps_every_tags_order_and_each_facets_argmax() -> None:
    raw_val, Y_val = _scores(3000, seed=0)
    raw_test, _ = _scores(500, seed=2)
    calibration = fit_calibration(raw_val, Y_val, TAGS)

    scores = calibration.apply(raw_test)

    # strictly increasing per tag: the ranking of products for a tag is unchanged
    for j in range(len(TAGS)):
        order = np.argsort(raw_test[:, j], kind="stable")
        assert (np.diff(scores[order, j].astype(np.float64)) >= 0).all()
    grid = np.linspace(0.001, 0.999, 500, dtype=np.float32)[:, None].repeat(7, axis=1)
    assert (np.diff(calibration.apply(grid).astype(np.float64), axis=0) > 0).all()
    # one map per single-valued facet: the argmax that decides it is unchanged
    np.testing.assert_array_equal(scores[:, 4:].argmax(axis=1), raw_test[:, 4:].argmax(axis=1))


def test_a_calibration_round_trips_through_json() -> None:
    raw_val, Y_val = _scores(3000, seed=0)
    calibration = fit_calibration(raw_val, Y_val, TAGS)

    restored = Calibration.from_json(json.loads(json.dumps(calibration.to_json())))

    np.testing.assert_array_equal(restored.apply(raw_val), calibration.apply(raw_val))


def test_without_validation_data_the_maps_are_the_identity() -> None:
    raw = np.array([[0.2, 0.7, 0.01, 0.5, 0.3, 0.3, 0.4]], dtype=np.float32)

    calibration = fit_calibration(np.zeros((0, 7), dtype=np.float32), np.zeros((0, 7)), TAGS)

    np.testing.assert_allclose(calibration.apply(raw), raw, atol=1e-6)

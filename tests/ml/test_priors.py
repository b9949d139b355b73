import numpy as np
import pytest

from training.ml.priors import apply_boost, prior_boost, tune_taus


def test_the_boost_favours_the_rarer_tag_of_a_facet_only() -> None:
    # given: tags 0-1 form a facet (0 frequent, 1 rare), tag 2 is free
    counts = np.array([99.0, 1.0, 5.0])

    boost = prior_boost(counts, [[0, 1]], [0.5])

    assert boost[1] > boost[0] > 0
    assert boost[2] == 1.0


def test_a_boosted_close_call_goes_to_the_rare_tag_at_the_same_top_score() -> None:
    proba = np.array([[0.5, 0.45, 0.9]], dtype=np.float32)
    boost = prior_boost(np.array([99.0, 1.0, 5.0]), [[0, 1]], [0.5])

    out = apply_boost(proba, boost, [[0, 1]])

    assert out[0, 1] > out[0, 0]
    assert out[0, :2].max() == pytest.approx(0.5)  # the facet threshold keeps its scale
    assert out[0, 2] == pytest.approx(0.9)  # free tags are untouched


def test_tau_stays_zero_when_boosting_would_cost_accuracy() -> None:
    # given: the frequent tag always wins rightly, by a small margin
    proba = np.array([[0.55, 0.45]] * 20, dtype=np.float32)
    Y = np.array([[1, 0]] * 20, dtype=bool)

    taus = tune_taus(proba, Y, np.array([99.0, 1.0]), [[0, 1]])

    assert taus == [0.0]


def test_tau_rises_when_the_rare_tag_loses_close_calls_it_should_win() -> None:
    # given: the rare tag's products score just below the frequent tag
    proba = np.array([[0.9, 0.1]] * 18 + [[0.52, 0.48]] * 2, dtype=np.float32)
    Y = np.array([[1, 0]] * 18 + [[0, 1]] * 2, dtype=bool)

    taus = tune_taus(proba, Y, np.array([90.0, 10.0]), [[0, 1]])

    assert taus[0] > 0.0

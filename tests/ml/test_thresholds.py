import numpy as np
import pytest

from training.ml.thresholds import DEFAULT_THRESHOLD, decide, tune_thresholds


def test_each_tag_gets_the_threshold_that_maximises_its_own_f1() -> None:
    # given: tag 0 is separable between 0.3 and 0.6; tag 1 between 0.75 and 0.85
    proba = np.array(
        [[0.6, 0.9], [0.7, 0.85], [0.65, 0.95], [0.8, 0.88], [0.9, 0.86],
         [0.3, 0.75], [0.2, 0.7], [0.1, 0.6], [0.25, 0.72], [0.05, 0.5]],
        dtype=np.float32,
    )  # fmt: skip
    Y = np.array([[1, 1]] * 5 + [[0, 0]] * 5, dtype=bool)

    # when
    t = tune_thresholds(proba, Y, min_positives=5)

    # then: each threshold lies inside its tag's gap, not at a shared value
    assert 0.3 < t[0] <= 0.6
    assert 0.75 < t[1] <= 0.85
    assert (decide(proba, t) == Y).all()


def test_tags_with_few_positives_share_a_pooled_threshold() -> None:
    # given: two rare tags (2 positives each) whose positives score 0.4+
    proba = np.array([[0.45, 0.1], [0.5, 0.2], [0.1, 0.42], [0.2, 0.6], [0.3, 0.3]])
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]], dtype=bool)

    t = tune_thresholds(proba, Y, min_positives=5)

    assert t[0] == t[1]
    assert 0.3 < t[0] <= 0.42


def test_a_tag_never_positive_in_validation_keeps_the_default() -> None:
    proba = np.array([[0.2], [0.9]])
    Y = np.zeros((2, 1), dtype=bool)

    t = tune_thresholds(proba, Y)

    assert t[0] == pytest.approx(DEFAULT_THRESHOLD)


def test_a_single_valued_facet_keeps_only_its_best_tag() -> None:
    # given: tags 0-2 form one single-valued facet, tag 3 is free
    proba = np.array([[0.7, 0.8, 0.1, 0.9], [0.2, 0.1, 0.15, 0.1]], dtype=np.float32)
    thresholds = np.array([0.5, 0.5, 0.5, 0.5], dtype=np.float32)

    selected = decide(proba, thresholds, groups=[[0, 1, 2]])

    assert selected.tolist() == [[False, True, False, True], [False, False, False, False]]


def test_a_facet_threshold_is_tuned_for_the_argmax_rule() -> None:
    # given: every product carries the facet, but the right tag often scores low:
    # the best rule is to always take the argmax (threshold 0)
    proba = np.array([[0.3, 0.2], [0.25, 0.35], [0.4, 0.1], [0.1, 0.45]], dtype=np.float32)
    Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool)

    t = tune_thresholds(proba, Y, groups=[[0, 1]])

    assert t[0] == t[1]
    assert (decide(proba, t, groups=[[0, 1]]) == Y).all()

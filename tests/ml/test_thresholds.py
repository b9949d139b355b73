import numpy as np
import pytest

from training.ml.thresholds import (
    DEFAULT_THRESHOLD,
    THRESHOLD_FLOOR,
    ThresholdPolicy,
    cap_per_facet,
    decide,
    tune_thresholds,
)


def test_each_tag_gets_the_threshold_that_maximises_its_own_f1() -> None:
    # given: tag 0 is separable between 0.3 and 0.6; tag 1 between 0.75 and 0.85,
    # each with 50 validation positives (enough that shrinkage barely moves them)
    proba = np.array(
        [[0.6, 0.9], [0.7, 0.85], [0.65, 0.95], [0.8, 0.88], [0.9, 0.86],
         [0.3, 0.75], [0.2, 0.7], [0.1, 0.6], [0.25, 0.72], [0.05, 0.5]],
        dtype=np.float32,
    ).repeat(10, axis=0)  # fmt: skip
    Y = np.array([[1, 1]] * 5 + [[0, 0]] * 5, dtype=bool).repeat(10, axis=0)

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


def _thin_facet() -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """Facet A (tags 0-1) is on every one of 40 validation products and well
    scored; facet B (tags 2-3) is on 2 of them, and scores 0.001-0.003 everywhere.
    Taking B's argmax on every product beats taking it nowhere on F1 (2 right,
    38 wrong)."""
    rng = np.random.default_rng(0)
    n = 40
    proba = np.zeros((n, 4), dtype=np.float32)
    truth_a = rng.integers(0, 2, n)
    proba[np.arange(n), truth_a] = 0.9
    proba[np.arange(n), 1 - truth_a] = 0.1
    proba[:, 2:] = rng.uniform(0.001, 0.003, (n, 2))
    Y = np.zeros((n, 4), dtype=bool)
    Y[np.arange(n), truth_a] = True
    for i in (0, 1):  # the two products that carry facet B, on its argmax tag
        Y[i, 2 + int(proba[i, 2:].argmax())] = True
    return proba, Y, [[0, 1], [2, 3]]


def test_a_thinly_supported_single_valued_facet_never_tunes_its_threshold_to_zero() -> None:
    # given (issue #17): a grid starting at 0.0 tuned facet B to 0.0, so B was
    # selected on every product
    proba, Y, groups = _thin_facet()

    # when
    t = tune_thresholds(proba, Y, groups)
    selected = decide(proba, t, groups)

    # then: a floor, and too little support for an own threshold
    assert (t >= THRESHOLD_FLOOR).all()
    assert selected[:, 2:].sum() <= 2
    assert (selected[:, :2] == Y[:, :2]).all()


def test_the_legacy_policy_keeps_the_old_rule_for_comparison() -> None:
    # bench/quality.py --compare-old measures the old rule in the same run
    proba, Y, groups = _thin_facet()

    t = tune_thresholds(proba, Y, groups, policy=ThresholdPolicy.legacy())

    assert t[2] == 0.0
    assert decide(proba, t, groups)[:, 2:].sum() == len(proba)


def test_an_own_threshold_on_few_positives_leans_on_its_facet() -> None:
    # given: tag 0 has 6 validation positives, 3 at 0.8 and 3 at 0.2 among 3
    # negatives at 0.2: on its own F1 a cut at ~0.15 (F1 0.80) barely beats one
    # at ~0.75 (0.67). Its facet's other tags (60 positives at 0.8, negatives up
    # to 0.7) are best cut above 0.7.
    rng = np.random.default_rng(1)
    n = 200
    proba = rng.uniform(0.0, 0.1, (n, 3)).astype(np.float32)
    Y = np.zeros((n, 3), dtype=bool)
    Y[:6, 0] = True
    proba[:3, 0] = 0.8
    proba[3:9, 0] = 0.2
    for j in (1, 2):
        Y[10 * j : 10 * j + 30, j] = True
        proba[10 * j : 10 * j + 30, j] = 0.8
        proba[100 : 100 + 20 * j, j] = 0.7  # negatives up to 0.7
    own = tune_thresholds(proba, Y, policy=ThresholdPolicy(shrinkage=0.0))
    shrunk = tune_thresholds(proba, Y, facets=["f", "f", "f"])

    # then: six positives are too few to overrule the facet on a near tie
    assert own[0] < 0.3 < 0.7 <= shrunk[0] <= 0.8
    assert shrunk[1] == pytest.approx(own[1], abs=0.02)


def test_a_cap_keeps_the_best_scoring_selections_of_each_facet() -> None:
    proba = np.array([[0.9, 0.8, 0.7, 0.6, 0.95]], dtype=np.float32)
    selected = np.ones_like(proba, dtype=bool)

    capped = cap_per_facet(selected, proba, [[0, 1, 2, 3], [4]], cap=2)

    assert capped.tolist() == [[True, True, False, False, True]]


def test_exempt_selections_are_kept_and_not_counted_by_the_cap() -> None:
    proba = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]], dtype=np.float32)
    selected = np.ones_like(proba, dtype=bool)

    capped = cap_per_facet(selected, proba, [[0, 1, 2, 3, 4]], cap=1, exempt=proba >= 0.8)

    assert capped.tolist() == [[True, True, True, False, False]]


def test_a_micro_weight_keeps_a_hard_tag_from_flooding_the_pool_with_false_positives() -> None:
    # given: tag 0 is easy (100 positives at 0.9, the rest at 0.05). Tag 1 is hard:
    # 10 positives and 5 negatives at 0.8, 10 positives and 20 negatives at 0.3.
    # Its own F1 is best cutting at 0.3 (0.62 against 0.57 at 0.8), but there a
    # selection is right one time in three, far below half the pooled F1 (~0.9).
    n = 300
    proba = np.full((n, 2), 0.05, dtype=np.float32)
    Y = np.zeros((n, 2), dtype=bool)
    proba[:100, 0], Y[:100, 0] = 0.9, True
    proba[:15, 1], Y[:10, 1] = 0.8, True
    proba[15:45, 1], Y[15:25, 1] = 0.3, True

    # when
    own = tune_thresholds(proba, Y, policy=ThresholdPolicy(shrinkage=0.0))
    weighted = tune_thresholds(proba, Y, policy=ThresholdPolicy(shrinkage=0.0, micro_weight=1.0))

    # then: the weighted threshold leaves the one-in-three block out; tag 0 keeps its cut
    assert own[1] <= 0.3 < weighted[1] <= 0.8
    assert 0.05 < weighted[0] <= 0.9
    assert decide(proba, weighted)[:, 1].sum() == 15

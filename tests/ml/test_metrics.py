import numpy as np
import pytest

from training.ml.metrics import binarize, multilabel_metrics

VOCAB = ["a", "b", "c", "d"]


def test_it_computes_micro_macro_and_per_tag_figures_by_hand() -> None:
    # given: a: 2 true, both found, 1 false alarm; b: 1 true, missed; c: predicted
    # once, never true; d: neither present nor predicted (not evaluable)
    y_true = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    y_pred = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)

    # when
    m = multilabel_metrics(y_true, y_pred, VOCAB)

    # then: tp=2, fp=2, fn=1
    assert m["micro_precision"] == pytest.approx(2 / 4)
    assert m["micro_recall"] == pytest.approx(2 / 3)
    assert m["micro_f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert set(m["per_tag"]) == {"a", "b", "c"}
    assert m["per_tag"]["a"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
        "predicted": 3,
    }
    assert m["per_tag"]["b"]["f1"] == 0.0
    assert m["per_tag"]["c"]["support"] == 0
    # macro over all four tags, undefined values counting 0 (d has none defined)
    assert m["macro_f1"] == pytest.approx(0.8 / 4)
    assert m["macro_precision"] == pytest.approx((2 / 3) / 4)
    assert m["macro_recall"] == pytest.approx(1 / 4)
    assert m["macro_f1_evaluable"] == pytest.approx(0.8 / 3)
    # coverage: of the tags present (a, b), only a was ever right
    assert m["coverage"] == pytest.approx(0.5)


def test_perfect_predictions_score_one_everywhere() -> None:
    y = np.array([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=bool)

    m = multilabel_metrics(y, y.copy(), VOCAB)

    assert (m["micro_f1"], m["macro_f1"], m["coverage"]) == (1.0, 1.0, 1.0)


def test_it_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shapes disagree"):
        multilabel_metrics(np.zeros((2, 4), bool), np.zeros((2, 3), bool), VOCAB)


def test_binarize_ignores_tags_outside_the_vocabulary() -> None:
    y = binarize([["a", "z"], ["d"]], VOCAB)

    assert y.tolist() == [[True, False, False, False], [False, False, False, True]]

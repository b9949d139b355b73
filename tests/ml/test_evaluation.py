from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import toy_products
from training.ml.data import Example
from training.ml.evaluation import (
    cross_validate,
    evaluate_holdout,
    holdout_split,
    kfold_indices,
)
from training.ml.head import HeadConfig
from training.ml.model import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = HeadConfig(hidden=0, max_epochs=4, patience=2, batch_size=32, lr=1e-2, lex_lr=5e-2)


def _examples(n: int) -> list[Example]:
    texts, labels = toy_products(n, seed=3)
    return [
        Example(f"p{i}", t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))
    ]


def test_k_folds_test_every_index_exactly_once() -> None:
    splits = kfold_indices(11, 3, seed=4)

    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(11))
    assert [len(test) for _, test in splits] == [4, 4, 3]
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == 11


def test_k_folds_depend_on_the_seed_only() -> None:
    first = kfold_indices(20, 4, seed=1)
    again = kfold_indices(20, 4, seed=1)
    other = kfold_indices(20, 4, seed=2)

    assert all((a[1] == b[1]).all() for a, b in zip(first, again, strict=True))
    assert any((a[1] != b[1]).any() for a, b in zip(first, other, strict=True))


def test_k_must_fit_the_data() -> None:
    with pytest.raises(ValueError, match="2 <= k <= n"):
        kfold_indices(3, 5)


def test_the_holdout_split_is_the_reference_shuffle() -> None:
    import random

    examples = _examples(10)
    expected = list(examples)
    random.Random(0).shuffle(expected)

    train, test = holdout_split(examples)

    assert train == expected[:8]
    assert test == expected[8:]


def test_a_holdout_run_reports_model_and_baseline(tiny_bert: str, tmp_path: Path) -> None:
    train, test = holdout_split(_examples(100))
    test.append(Example("unseen", "green silk", ["color:Green", "brand:NeverSeen"]))
    config = TrainConfig(base_model=tiny_bert, head=FAST, cache_dir=tmp_path)

    result = evaluate_holdout(train, test, config)

    for key in ("micro_f1", "macro_f1", "micro_precision", "micro_recall", "coverage"):
        assert 0.0 <= result[key] <= 1.0
        assert 0.0 <= result["baseline"][key] <= 1.0
    assert (result["n_train"], result["n_test"]) == (80, 21)
    # a tag that only the test set has counts as a miss, not as nothing
    assert result["per_tag"]["brand:NeverSeen"]["recall"] == 0.0


def test_cross_validation_pools_out_of_fold_predictions(tiny_bert: str, tmp_path: Path) -> None:
    config = TrainConfig(base_model=tiny_bert, head=FAST, cache_dir=tmp_path)

    result = cross_validate(_examples(60), 3, config, with_baseline=False)

    assert result["k"] == 3
    assert len(result["folds"]) == 3
    assert result["n_test"] == 60
    assert result["n_train"] == 40
    assert "baseline" not in result

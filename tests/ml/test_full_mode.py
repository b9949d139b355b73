"""TrainConfig(mode="full") wraps training/ml/finetune behind the same TaggerModel."""

from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import toy_products, train_full_toy
from training.ml.model import TaggerModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def full_model(tiny_bert: str) -> TaggerModel:
    return train_full_toy(tiny_bert, 64, seed=7)


def test_a_full_model_saves_and_loads_with_identical_predictions(
    full_model: TaggerModel, tmp_path: Path
) -> None:
    texts, _ = toy_products(8, seed=8)

    full_model.save(tmp_path / "full")
    loaded = TaggerModel.load(tmp_path / "full", device="cpu")

    assert loaded.mode == "full"
    assert loaded.tag_vocab == full_model.tag_vocab
    np.testing.assert_array_equal(loaded.thresholds, full_model.thresholds)
    np.testing.assert_array_equal(loaded.predict_proba(texts), full_model.predict_proba(texts))


def test_a_full_model_decides_and_explains_like_a_head_model(full_model: TaggerModel) -> None:
    predictions = full_model.predict(["red blue silk dress"], min_score=0.0)[0]

    colors = [p for p in predictions if p.tag.startswith("color:") and p.selected]
    assert len(colors) <= 1
    red = next(p for p in predictions if p.tag == "color:Red")
    assert (0, 3) in red.evidence
    assert full_model.embed(["red dress"]).shape[0] == 1


@pytest.mark.parametrize("bf16", [False, True])
def test_the_tuned_encoder_embeds_at_the_precision_it_was_tuned_in(
    tiny_bert: str, bf16: bool
) -> None:
    model = train_full_toy(tiny_bert, 32, seed=9, bf16=bf16)

    assert model.scorer.encoder.precision == ("bf16" if bf16 else "fp32")
    assert np.isfinite(model.predict_proba(toy_products(4, seed=10)[0])).all()


@pytest.mark.parametrize(("adapter", "folds"), [("lora", 5), ("full", 0)])
def test_after_lora_the_head_tunes_on_cross_fitted_scores_and_after_full_updates_on_the_split(
    tiny_bert: str, adapter: str, folds: int
) -> None:
    # LoRA's tuned encoder still leaves cross-fitted tuning ahead of the split
    # (measured, fitting.train_full_scorer); full updates were not measured.
    model = train_full_toy(tiny_bert, 32, seed=11, adapter=adapter)

    assert model.info["tuning_folds"] == folds
    assert model.info["refit"] is True

"""TrainConfig(mode="full") wraps training/ml/finetune behind the same TaggerModel."""

from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import toy_products
from training.ml.data import Example, tag_specs_from_examples
from training.ml.model import TaggerModel, TrainConfig, train_tagger

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def full_model(tiny_bert: str) -> TaggerModel:
    from training.ml.finetune import FineTuneConfig

    texts, labels = toy_products(64, seed=7)
    specs = tag_specs_from_examples(
        [Example(str(i), t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))]
    )
    config = TrainConfig(
        mode="full",
        base_model=tiny_bert,
        finetune=FineTuneConfig(
            epochs=1, batch_size=16, max_length=32, device="cpu", bf16=False, seed=0
        ),
    )
    return train_tagger(texts, labels, specs, config)


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
    from training.ml.finetune import FineTuneConfig

    texts, labels = toy_products(32, seed=9)
    specs = tag_specs_from_examples(
        [Example(str(i), t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))]
    )
    config = TrainConfig(
        mode="full",
        base_model=tiny_bert,
        finetune=FineTuneConfig(
            epochs=1, batch_size=16, max_length=32, device="cpu", bf16=bf16, seed=0
        ),
    )

    model = train_tagger(texts, labels, specs, config)

    assert model.scorer.encoder.precision == ("bf16" if bf16 else "fp32")
    assert np.isfinite(model.predict_proba(texts[:4])).all()

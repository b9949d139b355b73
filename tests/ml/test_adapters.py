"""Full mode on the CPU: frozen word embeddings, LoRA on the top layers, merged for
serving; and the lexical channel kept beside the fine-tuned encoder."""

from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import toy_products, train_full_toy
from training.ml.data import Example, tag_specs_from_examples
from training.ml.finetune import FineTuneConfig, finetune
from training.ml.finetune.adapters import count_parameters, prepare_encoder, resolve_adapter
from training.ml.metrics import binarize
from training.ml.model import TaggerModel, TrainConfig, train_tagger
from training.ml.scorers import TUNED_ENCODER_DIR, TunedHeadScorer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def load_tiny(tiny_bert: str) -> object:
    from transformers import AutoModel

    return AutoModel.from_pretrained(tiny_bert, local_files_only=True)


def trainable_names(module: object) -> set[str]:
    return {name for name, p in module.named_parameters() if p.requires_grad}  # type: ignore[attr-defined]


def test_lora_is_the_default_off_cuda_and_full_updates_on_it() -> None:
    assert resolve_adapter(None, "cpu") == "lora"
    assert resolve_adapter(None, "cuda:0") == "full"
    assert resolve_adapter("full", "cpu") == "full"
    with pytest.raises(ValueError, match="adapter"):
        resolve_adapter("prefix", "cpu")


def test_full_updates_train_everything_but_the_word_embeddings(tiny_bert: str) -> None:
    encoder = prepare_encoder(load_tiny(tiny_bert), "full")

    names = trainable_names(encoder)
    assert "embeddings.word_embeddings.weight" not in names
    assert "encoder.layer.0.attention.self.query.weight" in names
    assert "embeddings.position_embeddings.weight" in names


def test_lora_trains_adapters_on_the_top_layers_only(tiny_bert: str) -> None:
    encoder = prepare_encoder(load_tiny(tiny_bert), "lora", rank=4, top_layers=1)

    names = trainable_names(encoder)
    trainable, total = count_parameters(encoder)
    assert names  # something trains
    assert all("lora_" in name for name in names)
    assert all(".layer.1." in name for name in names)  # the top of two layers
    adapted = {name.split(".layer.1.")[1].rsplit(".lora_", 1)[0] for name in names}
    assert adapted == {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense",
    }  # fmt: skip
    assert trainable < total / 5


@pytest.fixture(scope="module")
def toy() -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    texts, labels = toy_products(96, seed=3)
    vocab = sorted({t for tags in labels for t in tags})
    Y = binarize(labels, vocab).astype(np.float32)
    return texts[:72], Y[:72], texts[72:], Y[72:]


def test_lora_training_touches_only_the_adapted_layers_and_merges(
    tiny_bert: str, toy: tuple
) -> None:
    import torch

    before = {k: v.clone() for k, v in load_tiny(tiny_bert).state_dict().items()}  # type: ignore[attr-defined]
    config = FineTuneConfig(
        epochs=2, batch_size=16, max_length=32, device="cpu", bf16=False, seed=0,
        adapter="lora", lora_layers=1, lora_rank=4,
    )  # fmt: skip

    classifier = finetune(tiny_bert, *toy, config)

    after = classifier.network.encoder.state_dict()
    assert type(classifier.network.encoder).__name__ == "BertModel"  # merged: no peft wrapper
    assert set(after) == set(before)
    for name, value in after.items():
        changed = not torch.equal(value, before[name])
        expected = ".layer.1." in name and name.endswith("weight") and "LayerNorm" not in name
        assert changed == expected, name


def test_a_lora_classifier_saves_and_loads_as_a_plain_encoder(
    tiny_bert: str, toy: tuple, tmp_path: Path
) -> None:
    from training.ml.finetune import FineTunedClassifier

    config = FineTuneConfig(
        epochs=1, batch_size=16, max_length=32, device="cpu", bf16=False, seed=0, adapter="lora"
    )
    classifier = finetune(tiny_bert, *toy, config)
    classifier.save(tmp_path / "ft")
    loaded = FineTunedClassifier.load(tmp_path / "ft", device="cpu")

    np.testing.assert_allclose(
        loaded.predict_proba(toy[2]), classifier.predict_proba(toy[2]), atol=1e-6
    )


@pytest.fixture(scope="module")
def tuned_model(tiny_bert: str) -> TaggerModel:
    return train_full_toy(tiny_bert, 80, seed=5, adapter="lora")


def test_full_mode_keeps_the_lexical_channel_beside_the_tuned_encoder(
    tuned_model: TaggerModel,
) -> None:
    assert isinstance(tuned_model.scorer, TunedHeadScorer)
    assert tuned_model.scorer.lexical.n_features > 0
    assert tuned_model.info["best_epoch"] == 1
    assert tuned_model.info["finetune"][0]["epoch"] == 1
    red = next(p for p in tuned_model.predict(["red silk dress"])[0] if p.tag == "color:Red")
    assert red.evidence  # occlusion of the lexical channel, as in head mode


def test_a_tuned_head_model_saves_its_encoder_and_loads_identically(
    tuned_model: TaggerModel, tmp_path: Path
) -> None:
    texts, _ = toy_products(8, seed=9)

    tuned_model.save(tmp_path / "full")
    loaded = TaggerModel.load(tmp_path / "full", device="cpu")

    assert (tmp_path / "full" / TUNED_ENCODER_DIR / "config.json").exists()
    assert isinstance(loaded.scorer, TunedHeadScorer)
    assert loaded.mode == "full"
    np.testing.assert_allclose(
        loaded.predict_proba(texts), tuned_model.predict_proba(texts), atol=1e-5
    )


def test_full_head_off_scores_with_the_fine_tuned_head_alone(tiny_bert: str) -> None:
    from training.ml.scorers import FullScorer

    texts, labels = toy_products(48, seed=6)
    specs = tag_specs_from_examples(
        [Example(str(i), t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))]
    )
    config = TrainConfig(
        mode="full",
        base_model=tiny_bert,
        full_head=False,
        finetune=FineTuneConfig(epochs=1, batch_size=16, max_length=32, device="cpu", seed=0),
    )

    model = train_tagger(texts, labels, specs, config)

    assert isinstance(model.scorer, FullScorer)


def test_the_cli_takes_the_adapter_and_its_layers(
    tiny_bert: str, toy: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.ml import finetune_cli

    seen: list[FineTuneConfig] = []

    def fake_finetune(*args: object, **kwargs: object) -> None:
        seen.append(args[5])  # type: ignore[arg-type]
        raise SystemExit(0)

    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "red silk dress", "tags": ["color:Red"]}\n', encoding="utf-8")
    monkeypatch.setattr(finetune_cli, "finetune", fake_finetune)
    args = ["--base-model", tiny_bert, "--train", str(train), "--val", str(train)]
    args += ["--out", str(tmp_path / "out"), "--adapter", "lora", "--lora-layers", "1"]

    with pytest.raises(SystemExit):
        finetune_cli.main(args)

    assert (seen[0].adapter, seen[0].lora_layers, seen[0].lora_rank) == ("lora", 1, 8)

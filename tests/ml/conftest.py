"""A tiny BERT built in the test session: the real code paths, in milliseconds."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from training.ml.model import TaggerModel

WORDS = [
    "red", "blue", "green", "black", "white", "navy", "cotton", "silk", "wool", "denim",
    "shirt", "dress", "skirt", "jacket", "jeans", "shoes", "watch", "bag", "women", "men",
    "kids", "casual", "formal", "summer", "winter", "slim", "fit", "printed", "striped",
    "solid", "new", "classic", "soft", "sports", "a", "the", "with", "for", "and",
    "##s", "##ed", "##ing",
]  # fmt: skip
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BertModel and its WordPiece tokenizer, saved with
    save_pretrained: pass the directory wherever a base model is expected."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-bert")
    # The vocabulary as a dict: transformers 5 ignores a vocab_file passed to the
    # constructor, and the tokenizer then reads every word as [UNK].
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(SPECIALS) + len(WORDS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Models this small run faster on one thread on a busy machine."""
    import torch

    before = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAGGER_TORCH_THREADS", "1")
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(before)


COLORS = ["red", "blue", "green", "black", "white"]
MATERIALS = ["cotton", "silk", "wool", "denim"]
TYPES = ["shirt", "dress", "skirt", "jacket"]
FILLERS = ["new", "classic", "soft", "slim", "fit", "casual", "summer"]


def toy_products(n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Texts naming a colour, a material and a type, in shuffled order with filler
    words; labels are the three facets (single-valued in the data) plus a
    multi-valued 'style' tag for printed / striped products."""
    import random

    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        color, material, kind = rng.choice(COLORS), rng.choice(MATERIALS), rng.choice(TYPES)
        words = [color, material, kind, *rng.sample(FILLERS, 2)]
        tags = [f"color:{color.title()}", f"material:{material.title()}", f"type:{kind.title()}"]
        for style in ("printed", "striped"):
            if rng.random() < 0.3:
                words.append(style)
                tags.append(f"style:{style.title()}")
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(tags)
    return texts, labels


def train_full_toy(base_model: str, n: int, seed: int, **finetune: Any) -> "TaggerModel":
    """A full-mode TaggerModel on n toy products: one epoch on the CPU in fp32,
    unless finetune (FineTuneConfig fields) says otherwise."""
    from training.ml.data import Example, tag_specs_from_examples
    from training.ml.finetune import FineTuneConfig
    from training.ml.model import TrainConfig, train_tagger

    texts, labels = toy_products(n, seed=seed)
    specs = tag_specs_from_examples(
        [Example(str(i), t, tags) for i, (t, tags) in enumerate(zip(texts, labels, strict=True))]
    )
    defaults = {
        "epochs": 1,
        "batch_size": 16,
        "max_length": 32,
        "device": "cpu",
        "bf16": False,
        "seed": 0,
    }
    config = TrainConfig(
        mode="full", base_model=base_model, finetune=FineTuneConfig(**(defaults | finetune))
    )
    return train_tagger(texts, labels, specs, config)


def write_lines(path: Path, rows: list[dict]) -> Path:
    import gzip
    import json

    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def install_as_multilingual(
    model_dir: str | Path, encoders_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of model_dir where encoder.multilingual_base_model() finds a finished
    multilingual-e5-small build (TAGGER_ENCODERS_DIR set to encoders_dir,
    TAGGER_BASE_MODEL unset): encoder choice by language then picks this small
    model."""
    import json
    import shutil

    from training.ml.e5_convert import MODEL_NAME, STAMP_FILE

    monkeypatch.delenv("TAGGER_BASE_MODEL", raising=False)
    monkeypatch.setenv("TAGGER_ENCODERS_DIR", str(encoders_dir))
    directory = encoders_dir / MODEL_NAME
    shutil.copytree(model_dir, directory)
    (directory / STAMP_FILE).write_text(json.dumps({"converter_version": 1}))
    return directory

"""Small catalogues and a tiny BERT, so training runs its real code paths in
a second or two."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from annotation.models import Product, ProductTag, Tag
from tests.factories import ProductFactory, ProductTagFactory, TagFactory, TagGroupFactory
from training.ml.model import TrainConfig
from training.services import job

real_train_config = job.train_config

COLOURS = ["red", "blue", "green"]
MATERIALS = ["cotton", "leather", "wool", "silk"]
ITEMS = ["shirt", "bag", "scarf", "hat", "jacket"]
EXTRA_WORDS = ["number", "new", "classic", "soft", "product", "for", "men", "women"]


def tiny_vocab() -> list[str]:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    digits = [str(d) for d in range(10)] + [f"##{d}" for d in range(10)]
    words = COLOURS + MATERIALS + ITEMS + EXTRA_WORDS + ["colour", "material", ":"]
    return specials + digits + sorted(set(words))


def build_tiny_bert(directory: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden size 32) and its vocabulary."""
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(tiny_vocab()) + "\n")
    tokenizer = BertTokenizer(str(vocab_file), do_lower_case=True)
    tokenizer.save_pretrained(str(directory))
    config = BertConfig(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def small_train_config(mode: str, base_model: str | None) -> TrainConfig:
    """The real training with a narrow head and few epochs: tests check the
    plumbing around it, tests/ml the learning itself."""
    from training.ml.finetune import FineTuneConfig
    from training.ml.head import HeadConfig

    config = real_train_config(mode, base_model)
    config.head = HeadConfig(hidden=32, max_epochs=4, patience=2)
    config.finetune = FineTuneConfig(epochs=1, batch_size=16, max_length=32)
    return config


@pytest.fixture
def ml_settings(tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The tiny model as the base encoder, model files and caches under tmp_path."""
    monkeypatch.setattr(job, "train_config", small_train_config)
    with override_settings(
        TAGGER_BASE_MODEL=str(tiny_bert),
        TAGGER_TRAIN_MODE="",
        MODEL_DIR=tmp_path / "models",
        TAGGER_CACHE_DIR=tmp_path / "cache",
    ):
        yield tmp_path


@pytest.fixture
def taxonomy(db: None) -> dict[str, Tag]:
    colour = TagGroupFactory(name="colour", multi_valued=False, position=0)
    material = TagGroupFactory(name="material", position=1)
    tags = {}
    for name in COLOURS:
        tags[f"colour:{name}"] = TagFactory(group=colour, name=name)
    for name in MATERIALS:
        tags[f"material:{name}"] = TagFactory(group=material, name=name)
    return tags


MakeCatalogue = Callable[..., list[Product]]


@pytest.fixture
def make_catalogue(taxonomy: dict[str, Tag]) -> MakeCatalogue:
    """`n` products whose text names their colour and material; the first
    `labeled` of them carry those two tags as approved, imported labels."""

    def make(
        n: int,
        labeled: int | None = None,
        start: int = 0,
        source: str = ProductTag.Source.IMPORT,
        user: User | None = None,
    ) -> list[Product]:
        labeled = n if labeled is None else labeled
        products = []
        for i in range(start, start + n):
            colour = COLOURS[i % len(COLOURS)]
            material = MATERIALS[(i // len(COLOURS)) % len(MATERIALS)]
            item = ITEMS[i % len(ITEMS)]
            product = ProductFactory(
                external_id=f"p{i}", title=f"{colour} {material} {item} number {i}"
            )
            products.append(product)
            if i - start < labeled:
                label(product, [f"colour:{colour}", f"material:{material}"], source, user)
        return products

    def label(product: Product, keys: list[str], source: str, user: User | None) -> None:
        for key in keys:
            ProductTagFactory(product=product, tag=taxonomy[key], source=source, decided_by=user)

    return make

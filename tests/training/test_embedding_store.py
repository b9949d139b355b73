"""The shared embedding cache (TAGGER_EMBEDDING_CACHE=database): what one worker
embedded, another finds, keyed by (encoder space, text hash)."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.ml.embeddings import EmbeddingCache, SqliteVectorStore, space_for
from training.ml.encoder import load_encoder
from training.models import CachedEmbedding
from training.services import versions
from training.services.embedding_store import DatabaseVectorStore, embedding_cache

pytestmark = pytest.mark.django_db


def counting(encoder: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the encoder's calls (restored after the test: encoders are shared)."""
    calls: list[int] = []
    original = encoder.embed

    def embed(texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        calls.append(len(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder, "embed", embed)
    return calls


def test_a_second_worker_finds_what_the_first_embedded(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers: two cache objects over one database.
    encoder = load_encoder(str(tiny_bert), device="cpu")
    calls = counting(encoder, monkeypatch)
    first, second = EmbeddingCache(DatabaseVectorStore()), EmbeddingCache(DatabaseVectorStore())

    made = first.embed(encoder, ["red dress", "blue shirt", "red dress"])
    found = second.embed(encoder, ["blue shirt", "red dress", "wool hat"])

    assert calls == [2, 1]  # the second only embedded the text nobody had
    assert (second.hits, second.misses) == (2, 1)
    np.testing.assert_array_equal(found[0], made[1])
    np.testing.assert_array_equal(found[1], made[0])
    space = space_for(encoder, 128)
    assert CachedEmbedding.objects.filter(space=space).count() == 3


def test_another_encoder_does_not_see_the_vectors(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = load_encoder(str(tiny_bert), device="cpu")
    store = DatabaseVectorStore()
    EmbeddingCache(store).embed(encoder, ["red dress"])

    other = EmbeddingCache(store)
    calls = counting(encoder, monkeypatch)
    other.embed(encoder, ["red dress"], max_length=32)  # another space

    assert calls == [1]
    assert CachedEmbedding.objects.values("space").distinct().count() == 2


def test_storing_a_vector_twice_keeps_one_row() -> None:
    store = DatabaseVectorStore()
    vector = np.arange(4, dtype=np.float32).tobytes()
    store.put_many("enc-1", [("a" * 64, vector)])
    store.put_many("enc-1", [("a" * 64, vector), ("b" * 64, vector)])

    assert store.get_many("enc-1", ["a" * 64, "b" * 64, "c" * 64]) == {
        "a" * 64: vector,
        "b" * 64: vector,
    }
    assert CachedEmbedding.objects.count() == 2


def test_the_setting_chooses_the_store(settings, tmp_path: Path) -> None:
    settings.TAGGER_CACHE_DIR = tmp_path
    settings.TAGGER_EMBEDDING_CACHE = "file"
    assert embedding_cache() == tmp_path / "embeddings"
    assert versions.embedding_cache_dir() == tmp_path / "embeddings"
    assert isinstance(EmbeddingCache(embedding_cache()).store, SqliteVectorStore)

    settings.TAGGER_EMBEDDING_CACHE = "database"
    assert isinstance(embedding_cache(), DatabaseVectorStore)

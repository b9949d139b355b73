from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.ml.embeddings import EmbeddingCache
from training.ml.encoder import default_base_model, load_encoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_embeddings_are_unit_length_and_independent_of_batching(tiny_bert: str) -> None:
    encoder = load_encoder(tiny_bert, device="cpu")
    texts = ["red silk dress with a long printed skirt", "wool", "", "blue jeans for men"]

    together = encoder.embed(texts, batch_size=4)
    alone = np.vstack([encoder.embed([t]) for t in texts])

    assert together.shape == (4, encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_the_cache_embeds_each_text_once(tiny_bert: str, tmp_path: Path) -> None:
    encoder = load_encoder(tiny_bert, device="cpu")
    cache = EmbeddingCache(tmp_path)
    calls: list[int] = []
    original = encoder.embed

    def counting_embed(texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        calls.append(len(texts))
        return original(texts, **kwargs)

    encoder.embed = counting_embed  # type: ignore[method-assign]
    try:
        first = cache.embed(encoder, ["red dress", "blue shirt", "red dress"])
        second = cache.embed(encoder, ["blue shirt", "wool skirt"])
    finally:
        del encoder.embed
    assert calls == [2, 1]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[1])


def test_the_base_model_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGGER_BASE_MODEL", "/models/my-encoder")

    assert default_base_model() == "/models/my-encoder"


@pytest.mark.integration
def test_the_packaged_minilm_embeds_sentences() -> None:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.delenv("TAGGER_BASE_MODEL", raising=False)
    try:
        encoder = load_encoder(device="cpu")
    finally:
        monkeypatch.undo()

    vectors = encoder.embed(["a navy blue cotton shirt", "a dark blue shirt made of cotton"])

    assert vectors.shape == (2, 384)
    assert float(vectors[0] @ vectors[1]) > 0.7


def test_an_int8_encoder_stays_close_to_fp32_and_caches_apart(
    tiny_bert: str, tmp_path: Path
) -> None:
    texts = ["red silk dress with a long printed skirt", "blue jeans for men"]
    fp32 = load_encoder(tiny_bert, device="cpu", precision="fp32")
    int8 = load_encoder(tiny_bert, device="cpu", precision="int8")

    a, b = fp32.embed(texts), int8.embed(texts)

    assert int8.precision == "int8"
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.9
    cache = EmbeddingCache(tmp_path)
    assert cache.path_for(fp32, 128) != cache.path_for(int8, 128)


def test_an_unknown_precision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.ml.encoder import default_precision

    monkeypatch.setenv("TAGGER_ENCODER_PRECISION", "fp8")

    with pytest.raises(ValueError, match="TAGGER_ENCODER_PRECISION"):
        default_precision("cpu")


def test_a_bf16_encoder_on_the_cpu_stays_close_to_fp32_and_caches_apart(
    tiny_bert: str, tmp_path: Path
) -> None:
    """bf16 autocast on the CPU (fast where the CPU has AMX or AVX512_BF16;
    emulated, and still correct, elsewhere)."""
    texts = ["red silk dress with a long printed skirt", "blue jeans for men", "红色连衣裙"]
    fp32 = load_encoder(tiny_bert, device="cpu", precision="fp32")
    bf16 = load_encoder(tiny_bert, device="cpu", precision="bf16")

    a, b = fp32.embed(texts), bf16.embed(texts)

    assert bf16.precision == "bf16"
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
    assert not np.array_equal(a, b)  # computed in bf16, not silently in fp32
    assert (a * b).sum(axis=1).min() > 0.99
    cache = EmbeddingCache(tmp_path)
    assert cache.path_for(fp32, 128) != cache.path_for(bf16, 128)


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "expected"),
    [(True, True, "amx"), (False, True, "avx512_bf16"), (False, False, None), (None, None, None)],
)
def test_the_cpu_bf16_probe_prefers_amx_and_survives_a_missing_probe(
    monkeypatch: pytest.MonkeyPatch,
    amx: bool | None,
    avx512_bf16: bool | None,
    expected: str | None,
) -> None:
    """None for a probe stands for a torch that lacks it (it raises)."""
    import torch

    from training.ml import encoder

    def probe(answer: bool | None):
        def call() -> bool:
            if answer is None:
                raise AttributeError("no such probe in this torch")
            return answer

        return call

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", probe(amx))
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", probe(avx512_bf16))

    assert encoder.cpu_bf16_kind() == expected


@pytest.mark.parametrize(
    ("device", "bf16_kind", "configured", "expected"),
    [
        ("cpu", "amx", "", "bf16"),
        ("cpu", "avx512_bf16", "", "bf16"),
        ("cpu", None, "", "fp32"),
        ("cuda", None, "", "bf16"),
        ("cpu", "amx", "fp32", "fp32"),
        ("cpu", None, "int8", "int8"),
        ("cuda", None, "int8", "bf16"),
    ],
)
def test_the_default_precision_follows_the_hardware(
    monkeypatch: pytest.MonkeyPatch,
    device: str,
    bf16_kind: str | None,
    configured: str,
    expected: str,
) -> None:
    from training.ml import encoder

    monkeypatch.setattr(encoder, "cpu_bf16_kind", lambda: bf16_kind)
    monkeypatch.setenv("TAGGER_ENCODER_PRECISION", configured)

    assert encoder.default_precision(device) == expected

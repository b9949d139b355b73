"""The fine-tuned multi-label classifier: inference, save and load."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .network import TaggingNetwork

FORMAT_VERSION = 1
ENCODER_DIR = "encoder"
HEAD_FILE = "head.safetensors"
META_FILE = "finetune.json"


def resolve_device(device: str | None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_bf16(bf16: bool | None, device: str) -> bool:
    """None means on where the frozen encoder runs bf16 by default
    (encoder.default_precision: CUDA, or a CPU with AMX or AVX512_BF16, unless
    TAGGER_ENCODER_PRECISION says otherwise), on a CUDA device only if it has bf16
    (Ampere and later)."""
    if bf16 is not None:
        return bf16
    from ..encoder import default_precision

    if default_precision(device) != "bf16":
        return False
    if device.startswith("cuda"):
        import torch

        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return device == "cpu"


class FineTunedClassifier:
    """An encoder fine-tuned end to end with a linear multi-label head."""

    def __init__(
        self,
        network: TaggingNetwork,
        tokenizer: Any,
        *,
        device: str,
        max_length: int,
        bf16: bool,
        history: list[dict] | None = None,
        best_epoch: int = 0,
        base_model: str = "",
    ) -> None:
        self.network = network
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = max_length
        self.bf16 = bf16
        self.history = history or []
        self.best_epoch = best_epoch
        self.base_model = base_model
        network.eval()

    @property
    def n_labels(self) -> int:
        return int(self.network.head.out_features)

    @property
    def dim(self) -> int:
        return int(self.network.encoder.config.hidden_size)

    def _run(self, texts: Sequence[str], batch_size: int, pooled: bool) -> np.ndarray:
        from .network import pad_token_id, run_network, tokenize

        token_ids = tokenize(self.tokenizer, texts, self.max_length) if len(texts) else []
        return run_network(
            self.network,
            token_ids,
            pad_token_id(self.tokenizer),
            device=self.device,
            bf16=self.bf16,
            batch_size=batch_size,
            pooled=pooled,
        )

    def predict_proba(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """(n, T) float32 sigmoid probabilities."""
        logits = self._run(texts, batch_size, pooled=False)
        # exp of a large negative logit overflows harmlessly to inf -> probability 0.
        with np.errstate(over="ignore"):
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def embed(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """(n, hidden) float32 mean-pooled encoder output, L2-normalised."""
        return self._run(texts, batch_size, pooled=True)

    def save(self, directory: Path) -> None:
        """Writes ``encoder/`` (save_pretrained: config, safetensors weights,
        tokenizer), ``head.safetensors`` and ``finetune.json``. Nothing is pickled.
        The caller makes the write atomic (write beside, then rename)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.encoder.save_pretrained(directory / ENCODER_DIR)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        head = {
            k: v.detach().to("cpu").contiguous() for k, v in self.network.head.state_dict().items()
        }
        save_file(head, str(directory / HEAD_FILE))
        meta = {
            "format": FORMAT_VERSION,
            "n_labels": self.n_labels,
            "max_length": self.max_length,
            "dropout": float(self.network.dropout.p),
            "history": self.history,
            "best_epoch": self.best_epoch,
            "base_model": self.base_model,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, device: str | None = None) -> FineTunedClassifier:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        from .network import TaggingNetwork

        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{directory} holds fine-tune format {meta.get('format')!r}")
        device = resolve_device(device)
        encoder_dir = directory / ENCODER_DIR
        tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
        encoder = AutoModel.from_pretrained(
            encoder_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
        )
        network = TaggingNetwork(encoder, int(meta["n_labels"]), dropout=float(meta["dropout"]))
        network.head.load_state_dict(load_file(str(directory / HEAD_FILE)))
        network.to(device)
        return cls(
            network,
            tokenizer,
            device=device,
            max_length=int(meta["max_length"]),
            bf16=resolve_bf16(None, device),
            history=list(meta.get("history", [])),
            best_epoch=int(meta.get("best_epoch", 0)),
            base_model=str(meta.get("base_model", "")),
        )

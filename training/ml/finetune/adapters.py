"""Which encoder weights full mode trains.

- The word embeddings are frozen in every case: they are most of a multilingual
  encoder's weights (96M of multilingual-e5-small's 118M), a labelled set of a
  few thousand products touches a sliver of their rows, and Adam would keep two
  more copies of all of them.
- ``lora`` (the default off CUDA): rank-r adapters (PyPI ``peft``) on the
  attention and feed-forward matrices of the top ``lora_layers`` layers; every
  other weight is frozen, so backpropagation stops below the lowest adapted
  layer. After training the adapters are merged into the weights, so the saved
  encoder is a plain transformers model and inference costs what it did.
- ``full`` (the default on CUDA, with bf16): every weight but the word embeddings.

torch and peft are imported inside the functions.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

ADAPTERS = ("lora", "full")
# The six matrices of a BERT-style layer (query, key, value, attention output,
# intermediate, output), as transformers names them in BERT, RoBERTa and XLM-R.
LORA_TARGETS = (
    r"attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense"
    r"|output\.dense"
)


def resolve_adapter(adapter: str | None, device: str) -> str:
    """None means full updates on CUDA and LoRA elsewhere."""
    if adapter is None:
        return "full" if device.startswith("cuda") else "lora"
    if adapter not in ADAPTERS:
        raise ValueError(f"adapter must be one of {ADAPTERS}, got {adapter!r}")
    return adapter


def freeze_word_embeddings(encoder: Any) -> int:
    """Stop the word embeddings from training; the number of weights frozen."""
    embeddings = encoder.get_input_embeddings()
    embeddings.requires_grad_(False)
    return sum(p.numel() for p in embeddings.parameters())


def _layer_count(encoder: Any) -> int:
    return int(encoder.config.num_hidden_layers)


def add_lora(encoder: Any, rank: int, alpha: int, dropout: float, top_layers: int | None) -> Any:
    """The encoder wrapped with LoRA adapters on the top `top_layers` layers (all
    when None); only the adapters train."""
    from peft import LoraConfig, get_peft_model

    n_layers = _layer_count(encoder)
    top = n_layers if top_layers is None else max(1, min(top_layers, n_layers))
    layers = "|".join(str(i) for i in range(n_layers - top, n_layers))
    target = rf".*\.layer\.({layers})\.({LORA_TARGETS})"
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=target)
    # peft raises ValueError when no module matches (an encoder of another family).
    return get_peft_model(encoder, config)


def merge_adapters(encoder: Any) -> Any:
    """A plain transformers model with any LoRA adapters merged into its weights."""
    from peft import PeftModel

    if isinstance(encoder, PeftModel):
        return encoder.merge_and_unload()
    return encoder


def prepare_encoder(
    encoder: Any,
    adapter: str,
    *,
    rank: int = 8,
    alpha: int = 16,
    dropout: float = 0.1,
    top_layers: int | None = None,
    freeze_embeddings: bool = True,
) -> Any:
    """The encoder ready to train under `adapter` ("lora" or "full")."""
    if freeze_embeddings:
        freeze_word_embeddings(encoder)
    if adapter == "lora":
        encoder = add_lora(encoder, rank, alpha, dropout, top_layers)
    trainable, total = count_parameters(encoder)
    logger.info("training %d of the encoder's %d weights (%s)", trainable, total, adapter)
    return encoder


def count_parameters(module: Any) -> tuple[int, int]:
    """(trainable, total) weights of a module."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)

"""What turns texts into tag probabilities, one class per training mode
(zero_shot.py holds the one for zero-shot; registry.py maps modes to classes).

A scorer is wrapped by TaggerModel, which owns the tags, thresholds, decisions,
evidence and the artifact's common files; a scorer owns its own weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .artifacts import read_json, write_json
from .e5_convert import MODEL_NAME as MULTILINGUAL_MODEL
from .embeddings import CacheLocation, EmbeddingCache
from .encoder import (
    Encoder,
    default_base_model,
    default_device,
    load_encoder,
    multilingual_base_model,
)
from .head import HeadClassifier, HeadConfig, HeadLayout
from .lexical import LexicalFeaturizer
from .names import NameVote
from .neighbours import NeighbourVote
from .priors import apply_boost
from .types import ProgressFn

logger = logging.getLogger(__name__)

HEAD_WEIGHTS = "head_{}.safetensors"
NEIGHBOUR_WEIGHTS = "neighbours.safetensors"
HEAD_META = "head.json"
LEXICAL_STATE = "lexical.json"
FINETUNE_DIR = "finetune"
TUNED_ENCODER_DIR = "encoder"


def resolve_base_model(name: str) -> str:
    """The recorded encoder, or the packaged default when the recorded one was a
    local directory that this machine does not have (the packaged model's path
    differs between a laptop and a container image)."""
    if name and (Path(name).is_dir() or not Path(name).is_absolute()):
        return name
    fallback = default_base_model()
    if Path(name).name == MULTILINGUAL_MODEL:  # built elsewhere: this machine's own build
        fallback = multilingual_base_model() or fallback
    logger.warning("encoder %s not found here, using %s", name, fallback)
    return fallback


def compatible_precision(recorded: str | None, device: str) -> str | None:
    """The recorded precision when this device can run it, else None (its default)."""
    if recorded == "int8" and device == "cpu":
        return recorded
    if recorded == "bf16" and device.startswith("cuda"):
        return recorded
    if recorded == "fp32":
        return recorded
    return None


class EncoderUser:
    """Lazy access to a frozen encoder and, optionally, the embedding cache."""

    def __init__(
        self,
        base_model: str,
        max_length: int = 128,
        device: str | None = None,
        cache_dir: CacheLocation | None = None,
        encoder: Encoder | None = None,
        precision: str | None = None,
    ) -> None:
        self.base_model = base_model
        self.max_length = max_length
        self.device = device
        self.cache_dir = cache_dir
        self._encoder = encoder
        # The precision the embeddings were made with; kept where the device allows.
        self.precision = encoder.precision if encoder is not None else precision

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            device = self.device or default_device()
            self._encoder = load_encoder(
                resolve_base_model(self.base_model),
                device,
                compatible_precision(self.precision, device),
            )
            self.precision = self._encoder.precision
        return self._encoder

    def embed(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        if self.cache_dir is not None:
            return EmbeddingCache(self.cache_dir).embed(
                self.encoder, texts, progress=progress, max_length=self.max_length
            )
        return self.encoder.embed(texts, max_length=self.max_length, progress=progress)


class HeadScorer(EncoderUser):
    """Frozen encoder + TF-IDF -> the mean of an ensemble of heads, blended per tag
    with a nearest-neighbour vote (blend[j] is the vote's weight for tag j) and a
    name vote (name_blend[j]), then re-ranked inside single-valued facets towards
    rare tags (priors.apply_boost)."""

    mode = "head"

    def __init__(
        self,
        base_model: str,
        lexical: LexicalFeaturizer,
        heads: Sequence[HeadClassifier],
        neighbours: NeighbourVote | None = None,
        blend: np.ndarray | None = None,
        max_length: int = 128,
        device: str | None = None,
        cache_dir: CacheLocation | None = None,
        encoder: Encoder | None = None,
        precision: str | None = None,
        boost: np.ndarray | None = None,
        names: NameVote | None = None,
        name_blend: np.ndarray | None = None,
    ) -> None:
        super().__init__(base_model, max_length, device, cache_dir, encoder, precision)
        self.lexical = lexical
        self.heads = list(heads)
        self.neighbours = neighbours
        n_tags = self.heads[0].layout.n_tags
        self.blend = np.zeros(n_tags, dtype=np.float32) if blend is None else blend
        self.boost = np.ones(n_tags, dtype=np.float32) if boost is None else boost
        self.names = names
        self.name_blend = np.zeros(n_tags, dtype=np.float32) if name_blend is None else name_blend

    def proba_from_features(
        self, E: np.ndarray, X: sp.csr_matrix, names: np.ndarray | None = None
    ) -> np.ndarray:
        """names: the NameVote matrix of the same texts; None leaves that vote out."""
        proba = np.mean([head.predict_proba(E, X) for head in self.heads], axis=0)
        if self.neighbours is not None and self.blend.any():
            vote = self.neighbours.proba(E, X)
            proba = (1.0 - self.blend) * proba + self.blend * vote
        if names is not None and self.name_blend.any():
            proba = (1.0 - self.name_blend) * proba + self.name_blend * names
        return apply_boost(proba, self.boost, self.heads[0].layout.groups)

    def name_matrix(self, texts: Sequence[str]) -> np.ndarray | None:
        return self.names.matrix(texts) if self.names is not None else None

    def score(
        self, texts: Sequence[str], progress: ProgressFn | None = None
    ) -> tuple[np.ndarray, Any]:
        E = self.embed(texts, progress)
        X = self.lexical.transform(texts)
        return self.proba_from_features(E, X, self.name_matrix(texts)), E

    def occlusion_proba(self, state: Any, index: int, variants: list[str]) -> np.ndarray:
        # Only the lexical channel is occluded: the sentence embedding stays that of
        # the whole text, so this costs one sparse product, not an encoder pass.
        E = np.repeat(state[index : index + 1], len(variants), axis=0)
        X = self.lexical.transform(variants)
        return self.proba_from_features(E, X, self.name_matrix(variants))

    def whole_occlusion_proba(self, state: Any, index: int, variants: list[str]) -> np.ndarray:
        """Occlusion through the whole model: every variant is re-embedded (not
        through the embedding cache, which is for catalogue texts), so it shows
        the words that a tag carried by the sentence embedding rests on."""
        E = self.encoder.embed(variants, max_length=self.max_length)
        X = self.lexical.transform(variants)
        return self.proba_from_features(E, X, self.name_matrix(variants))

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file as save_numpy
        from safetensors.torch import save_file

        for i, head in enumerate(self.heads):
            save_file(head.state_dict(), str(directory / HEAD_WEIGHTS.format(i)))
        arrays = {
            "blend": self.blend.astype(np.float32),
            "boost": self.boost.astype(np.float32),
            "name_blend": self.name_blend.astype(np.float32),
        }
        if self.neighbours is not None:
            arrays.update(self.neighbours.arrays())
        save_numpy(arrays, str(directory / NEIGHBOUR_WEIGHTS))
        write_json(directory / LEXICAL_STATE, self.lexical.state())
        first = self.heads[0]
        write_json(
            directory / HEAD_META,
            {
                "layout": first.layout.to_json(),
                "configs": [vars(head.config) for head in self.heads],
                "epochs_trained": [head.epochs_trained for head in self.heads],
                "dim": first.dim,
                "n_lex": first.n_lex,
                "max_length": self.max_length,
                "precision": self.precision,
                "neighbours": self.neighbours is not None,
                "names": self.names.state() if self.names is not None else None,
            },
        )

    @classmethod
    def load(
        cls, directory: Path, base_model: str, device: str | None, cache_dir: CacheLocation | None
    ) -> HeadScorer:
        from safetensors.numpy import load_file as load_numpy
        from safetensors.torch import load_file

        meta = read_json(directory / HEAD_META)
        layout = HeadLayout.from_json(meta["layout"])
        heads = []
        for i, (config, epochs) in enumerate(
            zip(meta["configs"], meta["epochs_trained"], strict=True)
        ):
            head = HeadClassifier.from_state(
                load_file(str(directory / HEAD_WEIGHTS.format(i))),
                layout,
                HeadConfig(**config),
                meta["dim"],
                meta["n_lex"],
            )
            head.epochs_trained = epochs
            heads.append(head)
        arrays = load_numpy(str(directory / NEIGHBOUR_WEIGHTS))
        neighbours = NeighbourVote.from_arrays(arrays) if meta["neighbours"] else None
        lexical = LexicalFeaturizer.from_state(read_json(directory / LEXICAL_STATE))
        return cls(
            base_model,
            lexical,
            heads,
            neighbours,
            arrays["blend"],
            meta["max_length"],
            device,
            cache_dir,
            precision=meta.get("precision"),
            boost=arrays["boost"],
            names=NameVote.from_state(meta["names"]) if meta["names"] is not None else None,
            name_blend=arrays["name_blend"],
        )


class TunedHeadScorer(HeadScorer):
    """Full mode with the lexical channel kept: head mode's heads, TF-IDF, votes and
    calibration over an encoder fine-tuned on the labels (fitting.train_full_scorer),
    which the artifact holds in ``encoder/`` (a plain transformers model)."""

    mode = "full"

    def save(self, directory: Path) -> None:
        super().save(directory)
        target = directory / TUNED_ENCODER_DIR
        self.encoder.model.save_pretrained(target)
        self.encoder.tokenizer.save_pretrained(target)

    @classmethod
    def load(
        cls, directory: Path, base_model: str, device: str | None, cache_dir: CacheLocation | None
    ) -> HeadScorer:
        """base_model (the encoder before fine-tuning) is unused: the artifact's own is read."""
        return super().load(directory, str(Path(directory) / TUNED_ENCODER_DIR), device, cache_dir)


class FullScorer:
    """A fine-tuned transformer (training/ml/finetune) behind the scorer interface."""

    mode = "full"

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def score(
        self, texts: Sequence[str], progress: ProgressFn | None = None
    ) -> tuple[np.ndarray, Any]:
        if not len(texts):
            return np.zeros((0, self.classifier.n_labels), dtype=np.float32), None
        return self.classifier.predict_proba(list(texts)), None

    def occlusion_proba(self, state: Any, index: int, variants: list[str]) -> np.ndarray:
        return self.classifier.predict_proba(variants)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.classifier.embed(list(texts))

    def save(self, directory: Path) -> None:
        self.classifier.save(directory / FINETUNE_DIR)

    @classmethod
    def load(
        cls,
        directory: Path,
        base_model: str = "",
        device: str | None = None,
        cache_dir: CacheLocation | None = None,
    ) -> FullScorer | HeadScorer:
        """base_model and cache_dir are unused: the artifact holds the whole network.
        An artifact with heads (full mode with the lexical channel) loads as a
        TunedHeadScorer."""
        from .finetune import FineTunedClassifier

        if (Path(directory) / HEAD_META).exists():
            return TunedHeadScorer.load(directory, base_model, device, cache_dir)

        return cls(FineTunedClassifier.load(directory / FINETUNE_DIR, device=device))

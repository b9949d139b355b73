"""The multi-label tagger: training (head or full mode), decisions, evidence, artifacts."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import (
    ArtifactMeta,
    read_meta,
    training_fingerprint,
    write_directory_atomically,
    write_meta,
)
from .calibration import Calibration
from .data import infer_single_valued
from .embeddings import CacheLocation
from .encoder import default_base_model, encoder_label
from .evidence import WHOLE_TEXT, alias_spans, merge_spans, occlusion_spans
from .fitting import TrainConfig, lexical_config_for, train_full_scorer, train_head_scorer
from .metrics import binarize
from .registry import Scorer, load_scorer, scorer_class
from .thresholds import cap_per_facet, decide, facet_columns, facet_groups
from .types import ProgressFn, StopFn, TagPrediction, TagSpec, report

# Re-exported: callers build a TrainConfig from here, next to train_tagger.
__all__ = [
    "TaggerModel",
    "TrainConfig",
    "build_zero_shot",
    "facet_groups",
    "lexical_config_for",
    "split_validation",
    "train_tagger",
]

logger = logging.getLogger(__name__)

# Occlusion costs a re-score per word: only the best few tags of a text get it.
MAX_OCCLUDED_TAGS = 8
# Occlusion through the whole model re-embeds one variant per word: short texts only.
MAX_WHOLE_MODEL_UNITS = 24

Span = tuple[int, int]


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), a seeded permutation; the validation
    part is empty when there is too little data to spare any."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(n * fraction) if n >= 4 else 0
    n_val = min(n_val, n - 2) if n_val else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class TaggerModel:
    """A trained (or zero-shot) tagger with the same interface in every mode."""

    def __init__(
        self,
        mode: str,
        base_model: str,
        tags: Sequence[TagSpec],
        thresholds: np.ndarray,
        scorer: Any,
        seed: int = 0,
        fingerprint: str = "",
        metrics: dict | None = None,
        info: dict | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        """thresholds are on the scale of the scores predict_proba returns: the
        calibrated one when there is a calibration (calibration.py)."""
        self.mode = mode
        self.base_model = base_model
        self.tags = list(tags)
        self.tag_vocab = [t.key for t in self.tags]
        self.thresholds = np.asarray(thresholds, dtype=np.float32)
        self.scorer = scorer
        self.seed = seed
        self.fingerprint = fingerprint
        self.metrics = metrics
        self.info = info or {}
        self.calibration = calibration
        self.groups = facet_groups(self.tags)
        self.facets = facet_columns(self.tags)
        # A scorer may cap how many tags of one facet a product gets (zero-shot
        # does), sparing the scores at or above cap_exempt_from (its name matches).
        self.max_per_facet: int | None = getattr(scorer, "max_per_facet", None)
        self.cap_exempt_from: float | None = getattr(scorer, "cap_exempt_from", None)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Scores as shown: the scorer's raw scores through the per-tag maps."""
        return self.calibration.apply(raw) if self.calibration is not None else raw

    def predict_proba(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        """(n, T) calibrated scores (raw ones for a model without calibration)."""
        return self.calibrate(self.scorer.score(list(texts), progress)[0])

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """(n, T) bool selection from predict_proba's scores: each at or above its
        tag's threshold, one per single-valued facet, at most max_per_facet per facet
        (besides those scoring at least cap_exempt_from)."""
        selected = decide(proba, self.thresholds, self.groups)
        if self.max_per_facet:
            exempt = proba >= self.cap_exempt_from if self.cap_exempt_from is not None else None
            selected = cap_per_facet(selected, proba, self.facets, self.max_per_facet, exempt)
        return selected

    def predict(
        self,
        texts: Sequence[str],
        min_score: float = 0.05,
        with_evidence: bool = True,
        whole_model_evidence: bool = False,
    ) -> list[list[TagPrediction]]:
        """Per text, the tags scoring at least min_score (and every selected tag),
        best first, with their evidence (see _evidence)."""
        texts = list(texts)
        raw, state = self.scorer.score(texts)
        proba = self.calibrate(raw)
        selected = self.decide(proba)
        results = []
        for i, text in enumerate(texts):
            columns = np.flatnonzero((proba[i] >= min_score) | selected[i])
            columns = columns[np.argsort(-proba[i, columns], kind="stable")]
            evidence: dict[int, list[Span]] = {}
            if with_evidence and text:
                chosen = [int(j) for j in columns if selected[i, j]]
                evidence = self._evidence(
                    text, [int(j) for j in columns], chosen, proba[i], state, i,
                    whole_model_evidence,
                )  # fmt: skip
            results.append(
                [
                    TagPrediction(
                        tag=self.tag_vocab[j],
                        score=float(proba[i, j]),
                        selected=bool(selected[i, j]),
                        evidence=evidence.get(int(j), []),
                    )
                    for j in columns
                ]
            )
        return results

    def _evidence(
        self,
        text: str,
        columns: list[int],
        chosen: list[int],
        proba: np.ndarray,
        state: Any,
        index: int,
        whole_model: bool,
    ) -> dict[int, list[Span]]:
        """Name/alias matches for every listed tag; for the few best selected tags,
        the words whose removal lowers the score most (the lexical channel only,
        the sentence embedding kept; with whole_model, a tag that this finds
        nothing for is occluded again through the whole model, encoder included,
        when the text is short). A selected tag that is still without a span rests
        on the text as a whole and gets the marker evidence.WHOLE_TEXT."""
        evidence = {j: alias_spans(text, self.tags[j]) for j in columns}
        occluded = chosen[:MAX_OCCLUDED_TAGS]
        marked = occluded
        if not hasattr(self.scorer, "occlusion_proba"):
            occluded, marked = [], chosen  # e.g. zero-shot: nothing but the embedding
        if occluded:
            variants = partial(self.scorer.occlusion_proba, state, index)
            found = occlusion_spans(text, occluded, proba, lambda v: self.calibrate(variants(v)))
            for j, spans in found.items():
                evidence[j] = merge_spans(evidence[j], spans)
        bare = [j for j in occluded if not evidence[j]]
        if bare and whole_model and hasattr(self.scorer, "whole_occlusion_proba"):
            whole = partial(self.scorer.whole_occlusion_proba, state, index)
            found = occlusion_spans(
                text, bare, proba, lambda v: self.calibrate(whole(v)), MAX_WHOLE_MODEL_UNITS
            )
            evidence.update(found)
        for j in marked:
            if not evidence[j]:
                evidence[j] = [WHOLE_TEXT]
        return evidence

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.embed(list(texts))

    def save(self, directory: Path) -> None:
        def write(tmp: Path) -> None:
            write_meta(
                tmp,
                ArtifactMeta(
                    mode=self.mode,
                    base_model=self.base_model,
                    tags=self.tags,
                    thresholds=self.thresholds,
                    seed=self.seed,
                    fingerprint=self.fingerprint,
                    metrics=self.metrics,
                    info=self.info,
                    calibration=(
                        self.calibration.to_json() if self.calibration is not None else None
                    ),
                ),
            )
            self.scorer.save(tmp)

        write_directory_atomically(Path(directory), write)

    @classmethod
    def load(
        cls, directory: Path, device: str | None = None, cache_dir: CacheLocation | None = None
    ) -> TaggerModel:
        directory = Path(directory)
        meta = read_meta(directory)
        scorer = load_scorer(directory, meta.mode, meta.base_model, device, cache_dir)
        return cls(
            meta.mode,
            meta.base_model,
            meta.tags,
            meta.thresholds,
            scorer,
            seed=meta.seed,
            fingerprint=meta.fingerprint,
            metrics=meta.metrics,
            info=meta.info,
            calibration=(
                Calibration.from_json(meta.calibration) if meta.calibration is not None else None
            ),
        )


def train_tagger(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    tags: Sequence[TagSpec],
    config: TrainConfig,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> TaggerModel:
    """Train a tagger. Splits its own validation set (config.val_fraction), tunes
    per-tag thresholds on it, then (config.refit) retrains on everything with the
    validated number of epochs. Labels outside `tags` are ignored.
    Raises Cancelled when should_stop() turns true."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} label lists")
    if not tags:
        raise ValueError("no tags to train")
    texts = list(texts)
    tags = list(tags)
    base_model = config.base_model or default_base_model(texts)  # by the texts' language
    Y = binarize(labels, [t.key for t in tags])
    fingerprint = training_fingerprint(texts, labels)
    train_idx, val_idx = split_validation(len(texts), config.val_fraction, config.seed)
    started = time.monotonic()
    if config.mode == "head":
        fitted = train_head_scorer(
            texts, Y, tags, train_idx, val_idx, base_model, config, progress, should_stop
        )
    elif config.mode == "full":
        fitted = train_full_scorer(
            texts, Y, tags, train_idx, val_idx, base_model, config, progress, should_stop
        )
    else:
        raise ValueError(f"unknown training mode {config.mode!r}")
    info = fitted.info
    info.update(
        n_train=len(train_idx),
        n_val=len(val_idx),
        seconds=round(time.monotonic() - started, 2),
        calibrated=fitted.calibration is not None,
        encoder=encoder_label(base_model),
    )
    report(progress, 1.0, "done")
    scorer: Scorer = fitted.scorer
    return TaggerModel(
        config.mode, base_model, tags, fitted.thresholds, scorer, config.seed, fingerprint,
        info=info, calibration=fitted.calibration,
    )  # fmt: skip


def build_zero_shot(
    tags: Sequence[TagSpec],
    base_model: str | None = None,
    device: str | None = None,
    cache_dir: CacheLocation | None = None,
    labels: Sequence[Sequence[str]] | None = None,
    calibration: dict | None = None,
    texts: Sequence[str] | None = None,
) -> TaggerModel:
    """A TaggerModel (mode "zero_shot", zero_shot.py) that needs no labels. Where
    some exist (e.g. imported tags), they say which facets are single-valued
    (data.infer_single_valued); elsewhere the tags' own flags do. Without
    base_model, the encoder is the one training would give the catalogue whose
    product texts are `texts` (default_base_model: multilingual-e5-small for
    Chinese and mixed ones). calibration overrides
    zero_shot.default_calibration(base_model)."""
    tags = list(tags)
    if not tags:
        raise ValueError("no tags to score")
    if labels:
        tags = infer_single_valued(tags, labels)
    base_model = base_model or default_base_model(texts)
    scorer_cls: Any = scorer_class("zero_shot")
    scorer = scorer_cls.build(tags, base_model, device, cache_dir, calibration)
    thresholds = np.full(len(tags), scorer_cls.threshold, dtype=np.float32)
    return TaggerModel("zero_shot", base_model, tags, thresholds, scorer)

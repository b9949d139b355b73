"""The multi-label tagger: training (head or full mode), decisions, evidence, artifacts."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import (
    read_json,
    training_fingerprint,
    versions,
    write_directory_atomically,
    write_json,
)
from .encoder import default_base_model
from .evidence import alias_spans, merge_spans, occlusion_spans
from .fitting import TrainConfig, lexical_config_for, train_full_scorer, train_head_scorer
from .metrics import binarize
from .scorers import FullScorer, HeadScorer
from .thresholds import decide, facet_groups
from .types import ProgressFn, StopFn, TagPrediction, TagSpec, report

# Re-exported: callers build a TrainConfig from here, next to train_tagger.
__all__ = [
    "TaggerModel",
    "TrainConfig",
    "facet_groups",
    "lexical_config_for",
    "split_validation",
    "train_tagger",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: head artifacts carry the rare-tag boost (priors.py)
CONFIG_FILE = "config.json"
TAGS_FILE = "tags.json"
THRESHOLDS_FILE = "thresholds.json"
METRICS_FILE = "metrics.json"
FINGERPRINT_FILE = "fingerprint"
# Occlusion costs a re-score per word: only the best few tags of a text get it.
MAX_OCCLUDED_TAGS = 8


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), a seeded permutation; the validation
    part is empty when there is too little data to spare any."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * fraction)) if n >= 4 else 0
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
    ) -> None:
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
        self.groups = facet_groups(self.tags)

    def predict_proba(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        return self.scorer.score(list(texts), progress)[0]

    def decide(self, proba: np.ndarray) -> np.ndarray:
        return decide(proba, self.thresholds, self.groups)

    def predict(
        self, texts: Sequence[str], min_score: float = 0.05, with_evidence: bool = True
    ) -> list[list[TagPrediction]]:
        """Per text, the tags scoring at least min_score (and every selected tag),
        best first. Evidence: name/alias matches for every listed tag, plus, for the
        few best selected tags, the words whose removal lowers the score most."""
        texts = list(texts)
        proba, state = self.scorer.score(texts)
        selected = self.decide(proba)
        results = []
        for i, text in enumerate(texts):
            columns = np.flatnonzero((proba[i] >= min_score) | selected[i])
            columns = columns[np.argsort(-proba[i, columns], kind="stable")]
            evidence: dict[int, list[tuple[int, int]]] = {int(j): [] for j in columns}
            if with_evidence and text:
                for j in evidence:
                    evidence[j] = alias_spans(text, self.tags[j])
                occluded = [int(j) for j in columns if selected[i, j]][:MAX_OCCLUDED_TAGS]
                if occluded and hasattr(self.scorer, "occlusion_proba"):
                    found = occlusion_spans(
                        text,
                        occluded,
                        proba[i],
                        lambda variants, i=i: self.scorer.occlusion_proba(state, i, variants),
                    )
                    for j, spans in found.items():
                        evidence[j] = merge_spans(evidence[j], spans)
            results.append(
                [
                    TagPrediction(
                        tag=self.tag_vocab[j],
                        score=float(proba[i, j]),
                        selected=bool(selected[i, j]),
                        evidence=evidence[int(j)],
                    )
                    for j in columns
                ]
            )
        return results

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.embed(list(texts))

    def save(self, directory: Path) -> None:
        def write(tmp: Path) -> None:
            write_json(
                tmp / CONFIG_FILE,
                {
                    "format": FORMAT_VERSION,
                    "mode": self.mode,
                    "base_model": self.base_model,
                    "seed": self.seed,
                    "versions": versions(),
                    "info": self.info,
                },
            )
            write_json(
                tmp / TAGS_FILE,
                [
                    {
                        "key": t.key,
                        "facet": t.facet,
                        "name": t.name,
                        "aliases": list(t.aliases),
                        "single_valued": t.single_valued,
                    }
                    for t in self.tags
                ],
            )
            write_json(
                tmp / THRESHOLDS_FILE,
                {k: float(v) for k, v in zip(self.tag_vocab, self.thresholds, strict=True)},
            )
            if self.metrics is not None:
                write_json(tmp / METRICS_FILE, self.metrics)
            (tmp / FINGERPRINT_FILE).write_text(self.fingerprint + "\n", encoding="utf-8")
            self.scorer.save(tmp)

        write_directory_atomically(Path(directory), write)

    @classmethod
    def load(
        cls, directory: Path, device: str | None = None, cache_dir: Path | None = None
    ) -> TaggerModel:
        directory = Path(directory)
        config = read_json(directory / CONFIG_FILE)
        if config.get("format") != FORMAT_VERSION:
            raise ValueError(f"{directory}: unknown artifact format {config.get('format')!r}")
        tags = [
            TagSpec(
                key=t["key"],
                facet=t["facet"],
                name=t["name"],
                aliases=tuple(t["aliases"]),
                single_valued=t["single_valued"],
            )
            for t in read_json(directory / TAGS_FILE)
        ]
        by_tag = read_json(directory / THRESHOLDS_FILE)
        thresholds = np.array([by_tag[t.key] for t in tags], dtype=np.float32)
        metrics_path = directory / METRICS_FILE
        metrics = read_json(metrics_path) if metrics_path.exists() else None
        fingerprint = (directory / FINGERPRINT_FILE).read_text(encoding="utf-8").strip()
        mode, base_model = config["mode"], config["base_model"]
        if mode == "head":
            scorer: Any = HeadScorer.load(directory, base_model, device, cache_dir)
        elif mode == "full":
            scorer = FullScorer.load(directory, device)
        elif mode == "zero_shot":
            from .zero_shot import ZeroShotScorer

            scorer = ZeroShotScorer.load(directory, base_model, device, cache_dir)
        else:
            raise ValueError(f"{directory}: unknown mode {mode!r}")
        return cls(
            mode,
            base_model,
            tags,
            thresholds,
            scorer,
            seed=config.get("seed", 0),
            fingerprint=fingerprint,
            metrics=metrics,
            info=config.get("info") or {},
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
    base_model = config.base_model or default_base_model()
    Y = binarize(labels, [t.key for t in tags])
    fingerprint = training_fingerprint(texts, labels)
    train_idx, val_idx = split_validation(len(texts), config.val_fraction, config.seed)
    started = time.monotonic()
    if config.mode == "head":
        scorer, thresholds, info = train_head_scorer(
            texts, Y, tags, train_idx, val_idx, base_model, config, progress, should_stop
        )
    elif config.mode == "full":
        scorer, thresholds, info = train_full_scorer(
            texts, Y, tags, train_idx, val_idx, base_model, config, progress, should_stop
        )
    else:
        raise ValueError(f"unknown training mode {config.mode!r}")
    info.update(
        n_train=len(train_idx), n_val=len(val_idx), seconds=round(time.monotonic() - started, 2)
    )
    report(progress, 1.0, "done")
    return TaggerModel(
        config.mode, base_model, tags, thresholds, scorer, config.seed, fingerprint, info=info
    )

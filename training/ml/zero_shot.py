"""Zero-shot scoring before any label exists: tag prompts vs product text.

Each tag is described by prompts ("color: Navy Blue", "Navy Blue", and the same
for each alias). A text's similarity to a tag is the best cosine over its prompts.
Raw cosines of a sentence encoder are not probabilities and are only comparable
within a facet, so the score combines an absolute part (how similar at all) with
a relative one (how far behind the facet's best tag), through a sigmoid. A name or
alias written in the text is strong, explicit evidence and lifts the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import read_json, write_json
from .encoder import default_base_model
from .evidence import alias_spans
from .model import TaggerModel, facet_groups
from .scorers import EncoderUser
from .types import ProgressFn, TagSpec

ZERO_SHOT_WEIGHTS = "zero_shot.safetensors"
ZERO_SHOT_META = "zero_shot.json"

# Calibration. Cosines of different encoders live on different scales (a small
# untrained BERT puts everything near 1.0, MiniLM spreads 0.0-0.7), so a tag's
# similarity is first standardised against all tags for the same text: what counts
# is how much a tag stands out. SPREAD standard deviations above the text's mean is
# an even chance; the facet part subtracts the gap to the facet's best tag.
SPREAD = 1.5
SLOPE = 1.5
RELATIVE_WEIGHT = 1.0
# A name or alias written in the text outranks any mere similarity: matched tags
# score in [MATCH_FLOOR, 1], the others in [0, MATCH_FLOOR].
MATCH_FLOOR = 0.75
THRESHOLD = 0.5


def tag_prompts(tag: TagSpec) -> list[str]:
    facet = tag.facet.strip()
    prompts = []
    for form in tag.surface_forms():
        prompts.append(f"{facet}: {form}" if facet else form)
        prompts.append(form)
    return list(dict.fromkeys(prompts))


class ZeroShotScorer(EncoderUser):
    mode = "zero_shot"

    def __init__(
        self,
        base_model: str,
        tags: Sequence[TagSpec],
        prompt_embeddings: np.ndarray,
        prompt_tag: np.ndarray,
        max_length: int = 128,
        device: str | None = None,
        cache_dir: Path | None = None,
        calibration: dict | None = None,
        precision: str | None = None,
    ) -> None:
        super().__init__(base_model, max_length, device, cache_dir, precision=precision)
        self.tags = list(tags)
        self.prompt_embeddings = prompt_embeddings.astype(np.float32)
        self.prompt_tag = prompt_tag.astype(np.int64)
        self.calibration = calibration or {
            "spread": SPREAD,
            "slope": SLOPE,
            "relative_weight": RELATIVE_WEIGHT,
            "match_floor": MATCH_FLOOR,
        }
        self.groups = _facets(self.tags)

    def similarities(self, E: np.ndarray) -> np.ndarray:
        """(n, T) best cosine between each text and each tag's prompts."""
        sims = np.full((len(E), len(self.tags)), -1.0, dtype=np.float32)
        prompt_sims = E @ self.prompt_embeddings.T
        for p, j in enumerate(self.prompt_tag):
            np.maximum(sims[:, j], prompt_sims[:, p], out=sims[:, j])
        return sims

    def calibrate(self, sims: np.ndarray) -> np.ndarray:
        c = self.calibration
        mean = sims.mean(axis=1, keepdims=True)
        std = sims.std(axis=1, keepdims=True) + 1e-6
        z = (sims - mean) / std - c["spread"]
        for group in self.groups:
            best = sims[:, group].max(axis=1, keepdims=True)
            z[:, group] += c["relative_weight"] * (sims[:, group] - best) / std
        return (1.0 / (1.0 + np.exp(-c["slope"] * z))).astype(np.float32)

    def score(
        self, texts: Sequence[str], progress: ProgressFn | None = None
    ) -> tuple[np.ndarray, Any]:
        texts = list(texts)
        proba = self.calibrate(self.similarities(self.embed(texts, progress)))
        matched = np.zeros_like(proba, dtype=bool)
        for i, text in enumerate(texts):
            for j, tag in enumerate(self.tags):
                matched[i, j] = bool(alias_spans(text, tag))
        floor = self.calibration["match_floor"]
        proba = np.where(matched, floor + (1.0 - floor) * proba, floor * proba)
        return proba.astype(np.float32), None

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        save_file(
            {"prompts": self.prompt_embeddings, "prompt_tag": self.prompt_tag},
            str(directory / ZERO_SHOT_WEIGHTS),
        )
        write_json(
            directory / ZERO_SHOT_META,
            {
                "max_length": self.max_length,
                "calibration": self.calibration,
                "precision": self.precision,
            },
        )

    @classmethod
    def load(
        cls, directory: Path, base_model: str, device: str | None, cache_dir: Path | None
    ) -> ZeroShotScorer:
        from safetensors.numpy import load_file

        from .model import TAGS_FILE

        arrays = load_file(str(directory / ZERO_SHOT_WEIGHTS))
        meta = read_json(directory / ZERO_SHOT_META)
        tags = [
            TagSpec(t["key"], t["facet"], t["name"], tuple(t["aliases"]), t["single_valued"])
            for t in read_json(directory / TAGS_FILE)
        ]
        return cls(
            base_model,
            tags,
            arrays["prompts"],
            arrays["prompt_tag"],
            meta["max_length"],
            device,
            cache_dir,
            meta["calibration"],
            meta.get("precision"),
        )


def _facets(tags: Sequence[TagSpec]) -> list[list[int]]:
    """Every facet with more than one tag, single-valued or not: relative scoring
    is about comparing a tag with its siblings."""
    groups: dict[str, list[int]] = {}
    for j, tag in enumerate(tags):
        groups.setdefault(tag.facet, []).append(j)
    return [g for g in groups.values() if len(g) > 1]


def build_zero_shot(
    tags: Sequence[TagSpec],
    base_model: str | None = None,
    device: str | None = None,
    cache_dir: Path | None = None,
) -> TaggerModel:
    """A TaggerModel (mode "zero_shot") that needs no labels."""
    tags = list(tags)
    if not tags:
        raise ValueError("no tags to score")
    base_model = base_model or default_base_model()
    prompts: list[str] = []
    prompt_tag: list[int] = []
    for j, tag in enumerate(tags):
        for prompt in tag_prompts(tag):
            prompts.append(prompt)
            prompt_tag.append(j)
    user = EncoderUser(base_model, device=device)
    embeddings = user.encoder.embed(prompts)
    scorer = ZeroShotScorer(
        base_model, tags, embeddings, np.asarray(prompt_tag), device=device, cache_dir=cache_dir
    )
    scorer._encoder = user.encoder
    scorer.precision = user.encoder.precision
    thresholds = np.full(len(tags), THRESHOLD, dtype=np.float32)
    model = TaggerModel("zero_shot", base_model, tags, thresholds, scorer)
    model.groups = facet_groups(tags)
    return model

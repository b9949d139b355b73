"""Zero-shot scoring before any label exists: tag prompts vs product text.

Each tag is described by prompts ("color: Navy Blue", "Navy Blue", and the same
for each alias). A text's similarity to a tag is the best cosine over its prompts.
Raw cosines of a sentence encoder are not probabilities and are only comparable
within a facet, so the score combines an absolute part (how similar at all) with
a relative one (how far behind the facet's best tag), through a sigmoid. A name or
alias written in the text is strong, explicit evidence and lifts the score.

Without labels nothing tunes the decision, so it is kept narrow: at most
MAX_PER_FACET tags per facet (best first; single-valued facets one), and where
the encoder cannot read a text (most of its tokens unknown to it, as Chinese is
to all-MiniLM-L6-v2) similarity is not trusted and only name/alias matches can be
selected. A Chinese or mixed catalogue gets the multilingual encoder (as training
does, encoder.default_base_model), whose similarities are trusted from a higher
standing above the text's mean (MULTILINGUAL_SPREAD).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import read_json, read_tags, write_json
from .embeddings import CacheLocation
from .evidence import alias_spans
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
# A text whose share of unknown tokens exceeds this is unreadable to the encoder:
# its similarity scores are scaled by UNREADABLE_WEIGHT, which keeps them ranked
# but below THRESHOLD (MATCH_FLOOR * UNREADABLE_WEIGHT < THRESHOLD).
MAX_UNKNOWN_SHARE = 0.25
UNREADABLE_WEIGHT = 0.5
MAX_PER_FACET = 2
# multilingual-e5-small's cosines crowd together more than MiniLM's, so more tags
# stand SPREAD deviations above a text's mean. On 600 OpenBG training products
# (never the bench's test set), the spread from which the tags selected by
# similarity alone were at least as often right as those selected by a name or
# alias in the text (0.17 of them, OpenBG's labels being sparse): 1.5 selected
# 7.5 tags per product by similarity at a precision of 0.07, 2.5 1.8 at 0.14,
# 3.0 0.9 at 0.21, 3.5 0.5 at 0.29 (docs/benchmarks.md, "Zero-shot start").
MULTILINGUAL_SPREAD = 3.0
DEFAULT_CALIBRATION = {
    "spread": SPREAD,
    "slope": SLOPE,
    "relative_weight": RELATIVE_WEIGHT,
    "match_floor": MATCH_FLOOR,
    "max_unknown_share": MAX_UNKNOWN_SHARE,
    "unreadable_weight": UNREADABLE_WEIGHT,
    "max_per_facet": MAX_PER_FACET,
}
# The rules before issue #17 (no cap, similarity trusted in every language), for
# side-by-side benchmarks.
LEGACY_CALIBRATION = {
    **DEFAULT_CALIBRATION,
    "max_unknown_share": 1.0,
    "unreadable_weight": 1.0,
    "max_per_facet": 0,
}


def default_calibration(base_model: str) -> dict:
    """DEFAULT_CALIBRATION, with MULTILINGUAL_SPREAD for multilingual-e5-small."""
    from .encoder import encoder_label

    if encoder_label(base_model) == "multilingual-e5-small":
        return {**DEFAULT_CALIBRATION, "spread": MULTILINGUAL_SPREAD}
    return dict(DEFAULT_CALIBRATION)


def tag_prompts(tag: TagSpec) -> list[str]:
    facet = tag.facet.strip()
    prompts = []
    for form in tag.surface_forms():
        prompts.append(f"{facet}: {form}" if facet else form)
        prompts.append(form)
    return list(dict.fromkeys(prompts))


class ZeroShotScorer(EncoderUser):
    mode = "zero_shot"
    threshold = THRESHOLD  # every tag's decision threshold: there is nothing to tune it on

    def __init__(
        self,
        base_model: str,
        tags: Sequence[TagSpec],
        prompt_embeddings: np.ndarray,
        prompt_tag: np.ndarray,
        max_length: int = 128,
        device: str | None = None,
        cache_dir: CacheLocation | None = None,
        calibration: dict | None = None,
        precision: str | None = None,
    ) -> None:
        super().__init__(base_model, max_length, device, cache_dir, precision=precision)
        self.tags = list(tags)
        self.prompt_embeddings = prompt_embeddings.astype(np.float32)
        self.prompt_tag = prompt_tag.astype(np.int64)
        # Artifacts from before a setting existed get its default.
        self.calibration = {**DEFAULT_CALIBRATION, **(calibration or {})}
        self.groups = _facets(self.tags)

    @property
    def max_per_facet(self) -> int | None:
        """Read by TaggerModel.decide: at most this many tags per facet (None: any)."""
        return int(self.calibration["max_per_facet"]) or None

    @property
    def cap_exempt_from(self) -> float:
        """Read by TaggerModel.decide: scores from here up are name/alias matches,
        explicit evidence that the cap does not count or remove."""
        return float(self.calibration["match_floor"])

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
        c = self.calibration
        floor = c["match_floor"]
        unreadable = self.encoder.unknown_share(texts, self.max_length) > c["max_unknown_share"]
        similarity = floor * proba * np.where(unreadable, c["unreadable_weight"], 1.0)[:, None]
        proba = np.where(matched, floor + (1.0 - floor) * proba, similarity)
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
    def build(
        cls,
        tags: Sequence[TagSpec],
        base_model: str,
        device: str | None = None,
        cache_dir: CacheLocation | None = None,
        calibration: dict | None = None,
    ) -> ZeroShotScorer:
        """Embed every tag's prompts with base_model (model.build_zero_shot wraps the
        result in a TaggerModel); calibration overrides default_calibration(base_model)."""
        tags = list(tags)
        prompts: list[str] = []
        prompt_tag: list[int] = []
        for j, tag in enumerate(tags):
            for prompt in tag_prompts(tag):
                prompts.append(prompt)
                prompt_tag.append(j)
        user = EncoderUser(base_model, device=device)
        embeddings = user.encoder.embed(prompts)
        settings = {**default_calibration(base_model), **(calibration or {})}
        scorer = cls(
            base_model, tags, embeddings, np.asarray(prompt_tag), device=device,
            cache_dir=cache_dir, calibration=settings,
        )  # fmt: skip
        scorer._encoder = user.encoder
        scorer.precision = user.encoder.precision
        return scorer

    @classmethod
    def load(
        cls, directory: Path, base_model: str, device: str | None, cache_dir: CacheLocation | None
    ) -> ZeroShotScorer:
        from safetensors.numpy import load_file

        arrays = load_file(str(directory / ZERO_SHOT_WEIGHTS))
        meta = read_json(directory / ZERO_SHOT_META)
        tags = read_tags(directory)
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

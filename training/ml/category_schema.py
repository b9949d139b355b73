"""Category schemas: which facets and tags occur within each category, learned
from approved tags, and the mask they put on a model's scores.

A product's category is its tag in one facet (e.g. `category:Footwear`). From
labelled products, each category with enough of them gets the set of tags seen
with it (level "tag") or the set of facets seen with it (level "facet"). A
scored product whose category the model is sure of (its best score in the
category facet at least `sure`) keeps only the scores its category allows; the
others drop to 0, so they are neither selected, pre-ticked nor offered. A
category with too few labelled products, or a product whose category is unsure,
is not masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .types import TagSpec

MIN_SUPPORT = 5  # labelled products a category needs before it masks anything
SURE = 0.5  # the category's score from which a product counts as in it


@dataclass(frozen=True)
class CategorySchema:
    facet: str  # the category facet
    level: str  # "tag" or "facet"
    allowed: dict[str, frozenset[str]]  # category tag -> the tags (or facets) seen with it

    @classmethod
    def learn(
        cls,
        labels: Sequence[Sequence[str]],
        facet: str,
        level: str = "tag",
        min_support: int = MIN_SUPPORT,
    ) -> CategorySchema:
        if level not in ("tag", "facet"):
            raise ValueError(f"unknown schema level {level!r}")
        seen: dict[str, set[str]] = {}
        support: dict[str, int] = {}
        for tags in labels:
            categories = [t for t in tags if TagSpec.from_key(t).facet == facet]
            for category in categories:
                support[category] = support.get(category, 0) + 1
                found = seen.setdefault(category, set())
                found.update(t if level == "tag" else TagSpec.from_key(t).facet for t in tags)
        allowed = {c: frozenset(found) for c, found in seen.items() if support[c] >= min_support}
        return cls(facet, level, allowed)

    def mask(self, proba: np.ndarray, tags: Sequence[TagSpec], sure: float = SURE) -> np.ndarray:
        """(n, T) bool: the scores each product's category allows (all True where
        the category is unsure or has no schema)."""
        keep = np.ones(proba.shape, dtype=bool)
        columns = [j for j, t in enumerate(tags) if t.facet == self.facet]
        if not columns:
            return keep
        cols = np.asarray(columns)
        best = cols[np.argmax(proba[:, cols], axis=1)]
        for i, j in enumerate(best):
            allowed = self.allowed.get(tags[j].key)
            if allowed is None or proba[i, j] < sure:
                continue
            for k, tag in enumerate(tags):
                if tag.facet == self.facet:
                    continue
                keep[i, k] = (tag.key if self.level == "tag" else tag.facet) in allowed
        return keep

    def allows(self, category: str | None, tag: TagSpec) -> bool:
        """Whether a product in `category` (None: unknown or unsure) keeps `tag`:
        the category facet itself, and every tag of a category without a schema,
        always stay."""
        if category is None or tag.facet == self.facet:
            return True
        allowed = self.allowed.get(category)
        if allowed is None:
            return True
        return (tag.key if self.level == "tag" else tag.facet) in allowed

    def category_of(self, scores: Sequence[tuple[str, float]], sure: float = SURE) -> str | None:
        """The category a product counts as in, from its (tag key, score) pairs: the
        best-scored tag of the category facet when its score is at least `sure`."""
        best: tuple[str, float] | None = None
        for key, score in scores:
            if TagSpec.from_key(key).facet == self.facet and (best is None or score > best[1]):
                best = (key, score)
        return best[0] if best is not None and best[1] >= sure else None

    def category_for(
        self, approved: Sequence[str], scores: Sequence[tuple[str, float]], sure: float = SURE
    ) -> str | None:
        """The category a product counts as in: its approved tag of the category
        facet (the first by key when several), else the one the model is sure of
        (category_of). Scoring and the review panel both decide it here."""
        mine = sorted(key for key in approved if TagSpec.from_key(key).facet == self.facet)
        return mine[0] if mine else self.category_of(scores, sure)

    def to_json(self) -> dict:
        return {
            "facet": self.facet,
            "level": self.level,
            "allowed": {c: sorted(found) for c, found in sorted(self.allowed.items())},
        }

    @classmethod
    def from_json(cls, data: dict) -> CategorySchema | None:
        """The schema `to_json` wrote (None for an empty or malformed one)."""
        facet, level, allowed = data.get("facet"), data.get("level"), data.get("allowed")
        if not isinstance(facet, str) or level not in ("tag", "facet"):
            return None
        if not isinstance(allowed, dict):
            return None
        return cls(
            facet, level, {str(c): frozenset(map(str, found)) for c, found in allowed.items()}
        )

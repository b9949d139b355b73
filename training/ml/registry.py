"""Which scorer class serves which mode.

TaggerModel records its mode in the artifact (artifacts.py) and asks this registry
for the class that loads the rest, so model.py need not know every scorer module.
Every scorer class has a ``mode`` and a
``load(directory, base_model, device, cache_dir)`` classmethod.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .embeddings import CacheLocation
from .scorers import FullScorer, HeadScorer
from .types import ProgressFn
from .zero_shot import ZeroShotScorer


class Scorer(Protocol):
    """What TaggerModel needs from a scorer (occlusion_proba is optional)."""

    mode: str

    def score(
        self, texts: Sequence[str], progress: ProgressFn | None = None
    ) -> tuple[np.ndarray, Any]: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...

    @classmethod
    def load(
        cls, directory: Path, base_model: str, device: str | None, cache_dir: CacheLocation | None
    ) -> Scorer: ...


SCORERS: dict[str, type[Scorer]] = {
    cls.mode: cls for cls in (HeadScorer, FullScorer, ZeroShotScorer)
}


def scorer_class(mode: str) -> type[Scorer]:
    """The scorer class of a mode; ValueError for an unknown one."""
    try:
        return SCORERS[mode]
    except KeyError:
        raise ValueError(f"unknown mode {mode!r}") from None


def load_scorer(
    directory: Path,
    mode: str,
    base_model: str,
    device: str | None = None,
    cache_dir: CacheLocation | None = None,
) -> Scorer:
    """The scorer of the artifact in `directory`, recorded as `mode`."""
    if mode not in SCORERS:
        raise ValueError(f"{directory}: unknown mode {mode!r}")
    return SCORERS[mode].load(directory, base_model, device, cache_dir)

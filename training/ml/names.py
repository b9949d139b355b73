"""A name vote: the tags whose name (or an alias) is written in the text.

Catalogue titles often spell their tags out ("Coffee Brown Wallet", "Messenger
Bag"). The head learns that per tag, which takes many examples; a rare tag has
too few, and a frequent tag that shares a word ("Brown") wins its close calls.
The vote states the match for every tag alike, and is blended in per facet with
a weight tuned on validation (as the neighbour vote is). Inside a single-valued
facet only the longest matched name votes, so "Coffee Brown" beats "Brown".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .priors import best_macro_keeping_accuracy, facet_scores
from .thresholds import best_free_blend, free_columns
from .types import TagSpec

_TOKEN_RE = re.compile(r"\w+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
NAME_BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall(text.casefold()))


class NameVote:
    """(n, T) matrix of name matches. Latin-script names match as whole token
    sequences (a dictionary lookup per text n-gram, so the cost does not grow
    with the number of tags); Chinese names, which have no word boundaries,
    match as substrings."""

    def __init__(self, forms: Sequence[Sequence[str]], groups: Sequence[Sequence[int]]) -> None:
        self.forms = [list(f) for f in forms]
        self.groups = [list(g) for g in groups]
        self._by_tokens: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        self._cjk: list[tuple[str, int]] = []
        for j, tag_forms in enumerate(self.forms):
            for form in tag_forms:
                if _CJK_RE.search(form):
                    self._cjk.append((form.casefold(), j))
                elif key := _tokens(form):
                    self._by_tokens.setdefault(key, []).append((j, len(form)))
        self._longest = max((len(k) for k in self._by_tokens), default=0)

    @classmethod
    def from_tags(cls, tags: Sequence[TagSpec], groups: Sequence[Sequence[int]]) -> NameVote:
        return cls([t.surface_forms() for t in tags], groups)

    def _matches(self, text: str) -> dict[int, int]:
        """{tag column: length of its longest matched form}."""
        found: dict[int, int] = {}
        tokens = _tokens(text)
        for n in range(1, self._longest + 1):
            for i in range(len(tokens) - n + 1):
                for j, length in self._by_tokens.get(tokens[i : i + n], ()):
                    found[j] = max(found.get(j, 0), length)
        if self._cjk:
            folded = text.casefold()
            for form, j in self._cjk:
                if form in folded:
                    found[j] = max(found.get(j, 0), len(form))
        return found

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.forms)), dtype=np.float32)
        for i, text in enumerate(texts):
            found = self._matches(text)
            for j in found:
                out[i, j] = 1.0
            for group in self.groups:
                lengths = {j: found[j] for j in group if j in found}
                if len(lengths) > 1:
                    longest = max(lengths.values())
                    winners = [j for j, length in lengths.items() if length == longest]
                    out[i, list(lengths)] = 0.0
                    out[i, winners] = 1.0 / len(winners)
        return out

    def state(self) -> dict:
        return {"forms": self.forms, "groups": self.groups}

    @classmethod
    def from_state(cls, state: dict) -> NameVote:
        return cls(state["forms"], state["groups"])


def tune_name_blend(
    proba: np.ndarray,
    names: np.ndarray,
    Y: np.ndarray,
    groups: Sequence[Sequence[int]],
    grid: Sequence[float] = NAME_BLEND_GRID,
) -> np.ndarray:
    """(T,) weight of the name vote in (1 - w) * proba + w * names, on validation
    data: per single-valued facet the best macro-F1 that keeps the facet's
    accuracy (the vote is for the rare tags, not at the frequent ones' cost); one
    weight for all other tags by their summed best-threshold F1."""
    Y = np.asarray(Y, dtype=bool)
    weights = np.zeros(proba.shape[1], dtype=np.float32)
    for group in groups:
        g = np.asarray(group, dtype=np.int64)
        if not Y[:, g].any() or not names[:, g].any():
            continue
        scores = [facet_scores((1 - w) * proba + w * names, Y, g) for w in grid]
        weights[g] = grid[best_macro_keeping_accuracy(scores)]
    free = free_columns(proba.shape[1], groups)
    scored = free[Y[:, free].any(axis=0) & names[:, free].any(axis=0)] if len(free) else free
    if len(scored):
        weights[free] = best_free_blend(proba, names, Y, scored, grid)
    return weights

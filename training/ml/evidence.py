"""Evidence: the character spans of a product text that support a tag."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from .lexical import occlusion_units
from .types import TagSpec

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

MAX_OCCLUSION_UNITS = 48
# The evidence of a tag that rests on the text as a whole (the sentence
# embedding) rather than on words one can point at: an empty span at the start,
# so a highlighter that skips empty spans marks nothing, and a reviewer-facing
# page can say "from the overall text".
WHOLE_TEXT: tuple[int, int] = (0, 0)
MAX_OCCLUSION_SPANS = 3
# An occluded unit counts as evidence when removing it lowers the score by at
# least this much (absolute), so noise never shows up as a highlighted word.
MIN_SCORE_DROP = 0.02
RELATIVE_DROP = 0.35


@lru_cache(maxsize=8192)
def _form_pattern(form: str) -> re.Pattern[str]:
    escaped = re.escape(form)
    if _CJK_RE.search(form):
        # Chinese has no word boundaries: a substring match is the match.
        return re.compile(escaped, re.IGNORECASE)
    # Word boundaries that also hold next to punctuation in the form itself.
    return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def alias_spans(text: str, spec: TagSpec) -> list[tuple[int, int]]:
    """Spans where the tag's name or an alias occurs in the text, longest forms
    first; a shorter form inside an already matched span is not repeated."""
    spans: list[tuple[int, int]] = []
    folded = text.casefold()
    for form in spec.surface_forms():
        # A plain substring test first: most tags do not occur in most texts, and
        # it is far cheaper than the regex.
        if form.casefold() not in folded:
            continue
        for match in _form_pattern(form).finditer(text):
            start, end = match.span()
            if not any(s <= start and end <= e for s, e in spans):
                spans.append((start, end))
    return sorted(spans)


def occlusion_spans(
    text: str,
    columns: Sequence[int],
    base: np.ndarray,
    score_variants: Callable[[list[str]], np.ndarray],
    max_units: int = MAX_OCCLUSION_UNITS,
    top: int = MAX_OCCLUSION_SPANS,
) -> dict[int, list[tuple[int, int]]]:
    """For each tag column, the spans whose removal lowers its score the most.

    Every unit (a word; in Chinese, a word found by segmentation) is blanked out in
    turn (replaced by spaces, so other offsets stay valid) and the text re-scored in
    one batch."""
    units = occlusion_units(text)[:max_units]
    if not units or not columns:
        return {j: [] for j in columns}
    variants = [text[:s] + " " * (e - s) + text[e:] for s, e in units]
    scores = score_variants(variants)  # (len(units), T)
    result = {}
    for j in columns:
        drop = base[j] - scores[:, j]
        order = np.argsort(-drop, kind="stable")[:top]
        # Relative to the strongest unit too: a word that matters a third as much
        # as the best one is not what a reviewer should look at.
        floor = max(MIN_SCORE_DROP, RELATIVE_DROP * float(drop.max()))
        result[j] = sorted(units[k] for k in order if drop[k] >= floor)
    return result


def merge_spans(*span_lists: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of the spans, sorted, overlapping ones merged into one (spans
    that only touch stay apart: they are separate words)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted({(int(s), int(e)) for spans in span_lists for s, e in spans}):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged

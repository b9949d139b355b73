"""Reading labelled products from JSON Lines (the ../shared/data format)."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from .text import product_text
from .types import TagSpec

# A facet is inferred single-valued only when enough products carry it; a facet
# seen on three products proves nothing about how many values it allows.
MIN_FACET_SUPPORT_FOR_SINGLE = 10


@dataclass
class Example:
    id: str
    text: str
    tags: list[str]


def _open(path: Path) -> TextIO:
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_examples(path: Path, skip_untagged: bool = True) -> list[Example]:
    """One Example per JSON line {id, title, description, tags}; the text is the
    cleaned title then description. Lines without tags are skipped unless asked."""
    examples = []
    with _open(path) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            tags = [str(t) for t in row.get("tags") or []]
            if skip_untagged and not tags:
                continue
            text = row.get("text") or product_text(
                str(row.get("title") or ""), str(row.get("description") or "")
            )
            examples.append(
                Example(id=str(row.get("id", number)), text=text, tags=list(dict.fromkeys(tags)))
            )
    return examples


def facet_usage(label_lists: Iterable[Sequence[str]]) -> tuple[dict[str, int], set[str]]:
    """({facet: products carrying it}, {facets some product carries twice})."""
    support: dict[str, int] = defaultdict(int)
    multi: set[str] = set()
    for labels in label_lists:
        per_facet: dict[str, int] = defaultdict(int)
        for key in dict.fromkeys(labels):
            per_facet[TagSpec.from_key(key).facet] += 1
        for facet, count in per_facet.items():
            support[facet] += 1
            if count > 1:
                multi.add(facet)
    return support, multi


def tag_specs_from_examples(
    examples: Iterable[Example], min_facet_support: int = MIN_FACET_SUPPORT_FOR_SINGLE
) -> list[TagSpec]:
    """TagSpecs for every tag seen, sorted by key. A facet is single-valued when no
    product carries two of its tags and at least min_facet_support products carry it."""
    examples = list(examples)
    support, multi = facet_usage(e.tags for e in examples)
    specs = []
    for key in sorted({key for e in examples for key in e.tags}):
        spec = TagSpec.from_key(key)
        single = spec.facet not in multi and support[spec.facet] >= min_facet_support
        specs.append(TagSpec.from_key(key, single_valued=single))
    return specs


def infer_single_valued(
    tags: Sequence[TagSpec],
    labels: Iterable[Sequence[str]],
    min_facet_support: int = MIN_FACET_SUPPORT_FOR_SINGLE,
) -> list[TagSpec]:
    """The tags with single_valued taken from the labels where they say enough: a
    facet carried by at least min_facet_support labelled products is single-valued
    exactly when none carries two of its tags; any other facet keeps its flag (the
    taxonomy's)."""
    support, multi = facet_usage(labels)
    out = []
    for tag in tags:
        if support.get(tag.facet, 0) >= min_facet_support:
            tag = replace(tag, single_valued=tag.facet not in multi)
        out.append(tag)
    return out

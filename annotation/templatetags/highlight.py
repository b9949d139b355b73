"""Evidence highlighting: product text with <mark> around the words a tag's
score rests on.

Product text is hostile input. Every text segment goes through `escape`; the
only markup in the result is the <mark> elements built here, so nothing the
catalogue says can become HTML.
"""

from collections.abc import Iterable, Sequence
from itertools import pairwise

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

Span = tuple[int, int, int]  # [start, end) in Product.normalized_text, tag id


def _clip(spans: Iterable[Sequence[int]], start: int, end: int) -> list[Span]:
    clipped: list[Span] = []
    for span in spans:
        if len(span) < 3:
            continue
        s, e, tag_id = int(span[0]), int(span[1]), int(span[2])
        s, e = max(s, start), min(e, end)
        if s < e:
            clipped.append((s, e, tag_id))
    return clipped


def highlight_text(
    text: str, spans: Iterable[Sequence[int]], start: int = 0, end: int | None = None
) -> SafeString:
    """Render text[start:end] with <mark data-tags="..."> around the spans.

    `spans` are (start, end, tag_id) triples in the coordinates of `text`;
    overlapping spans of several tags become one mark that lists every tag,
    so the page can light up the words of the tag under the pointer."""
    end = len(text) if end is None else min(end, len(text))
    start = max(0, min(start, end))
    clipped = _clip(spans, start, end)
    if not clipped:
        return escape(text[start:end])
    cuts = sorted({start, end, *(s for s, _, _ in clipped), *(e for _, e, _ in clipped)})
    pieces: list[tuple[str, frozenset[int]]] = []
    for a, b in pairwise(cuts):
        tags = frozenset(t for s, e, t in clipped if s <= a and e >= b)
        if pieces and pieces[-1][1] == tags:
            pieces[-1] = (pieces[-1][0] + text[a:b], tags)
        else:
            pieces.append((text[a:b], tags))
    html: list[str] = []
    for segment, tags in pieces:
        if tags:
            ids = " ".join(str(t) for t in sorted(tags))
            html.append(f'<mark data-tags="{ids}">{escape(segment)}</mark>')
        else:
            html.append(str(escape(segment)))
    # Safe: every product-text segment above went through escape(); the
    # attribute holds integers only.
    return mark_safe("".join(html))


@register.simple_tag
def highlight(
    text: str, spans: Iterable[Sequence[int]], start: int = 0, end: int | None = None
) -> SafeString:
    return highlight_text(text or "", spans or [], start, end)

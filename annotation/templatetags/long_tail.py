"""Server-rendered SVG charts (no JavaScript, no inline styles: the CSP allows
neither). Colours come from classes in app.css.

    {% load long_tail %}{% long_tail_chart rows %}   rows: [{"label": str, "count": int}, ...]

The learning curve's geometry comes from training.learning_curve (drawn by
training/_learning_curve.html).
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


def _log_height(count: int, top: int, height: float) -> float:
    if count <= 0 or top <= 0:
        return 0.0
    return height * math.log10(count + 1) / math.log10(top + 1)


def long_tail_svg(
    rows: Sequence[Mapping[str, Any]],
    *,
    rare_below: int,
    width: int = 1000,
    height: int = 240,
) -> SafeString:
    """One bar per tag, most positives first, on a log scale so the tail stays
    visible. Bars under `rare_below` positives carry the class "rare"; tags
    with none get a stub so they are still seen (and counted)."""
    rows = sorted(rows, key=lambda r: (-int(r["count"]), str(r["label"])))
    left, bottom, top_pad = 40, 24, 8
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    n = max(len(rows), 1)
    top = max((int(r["count"]) for r in rows), default=0)
    step = plot_w / n
    bar_w = max(step * 0.85, 0.5)
    bars = []
    for i, row in enumerate(rows):
        count = int(row["count"])
        h = max(_log_height(count, top, plot_h), 2.0)
        x = left + i * step
        y = top_pad + plot_h - h
        css = "tail-bar rare" if count < rare_below else "tail-bar"
        bars.append((css, f"{x:.2f}", f"{y:.2f}", f"{bar_w:.2f}", f"{h:.2f}", row["label"], count))
    ticks = []
    value = 1
    while top and value <= top:
        y = top_pad + plot_h - _log_height(value, top, plot_h)
        ticks.append((left, f"{y:.1f}", width - 8, left - 4, f"{y + 4:.1f}", value))
        value *= 10
    rare = sum(1 for r in rows if int(r["count"]) < rare_below)
    title = _("Positive examples per tag: %(tags)d tags, %(rare)d rare (fewer than %(n)d)") % {
        "tags": len(rows),
        "rare": rare,
        "n": rare_below,
    }
    rare_y = top_pad + plot_h - _log_height(rare_below, top, plot_h) if top else None
    return format_html(
        '<svg class="chart long-tail" viewBox="0 0 {w} {h}" role="img" aria-label="{title}"'
        ' xmlns="http://www.w3.org/2000/svg">'
        "<title>{title}</title>"
        '<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>'
        "{ticks}{rare_line}{bars}"
        '<text class="axis-label" x="{left}" y="{label_y}">{xlabel}</text>'
        "</svg>",
        w=width,
        h=height,
        title=title,
        left=left,
        right=width - 8,
        base=top_pad + plot_h,
        label_y=height - 6,
        xlabel=_("tags, most frequent first (log scale)"),
        ticks=format_html_join(
            "",
            '<line class="grid" x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>'
            '<text class="tick" x="{3}" y="{4}" text-anchor="end">{5}</text>',
            ticks,
        ),
        rare_line=(
            format_html(
                '<line class="rare-line" x1="{}" y1="{y}" x2="{}" y2="{y}"/>',
                left,
                width - 8,
                y=f"{rare_y:.1f}",
            )
            if rare_y is not None
            else ""
        ),
        bars=format_html_join(
            "",
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
            bars,
        ),
    )


@register.simple_tag
def long_tail_chart(rows: Sequence[Mapping[str, Any]], rare_below: int) -> SafeString:
    return long_tail_svg(rows, rare_below=rare_below)

"""Geometry of the learning-curve chart, drawn as inline SVG by a template
(no chart library, no script: the page works under a strict CSP)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from training.models import ModelVersion

WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass
class Marker:
    x: float
    y: float
    title: str


@dataclass
class Series:
    key: str  # also the CSS/legend identity
    label: str
    colour: str
    points: str = ""  # SVG polyline "x,y x,y"
    markers: list[Marker] = field(default_factory=list)


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class LearningCurve:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


def _nice_step(span: float, target_ticks: int = 5) -> float:
    raw = span / max(target_ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def learning_curve(
    versions: Sequence[ModelVersion], labels: dict[str, str]
) -> LearningCurve | None:
    """Micro- and macro-F1 on the frozen evaluation set against the number of
    labeled products, one point per trained version (oldest first). None when
    fewer than one version has metrics."""
    points = [
        v
        for v in versions
        if v.mode != ModelVersion.Mode.ZERO_SHOT
        and v.metrics.get("micro_f1") is not None
        and v.metrics.get("labeled_count") is not None
    ]
    if not points:
        return None
    points.sort(key=lambda v: (v.metrics["labeled_count"], v.created_at, v.pk))
    counts = [v.metrics["labeled_count"] for v in points]
    low, high = min(counts), max(counts)
    step = _nice_step(high - low) if high > low else max(1, _nice_step(max(high, 1)))
    x_min = math.floor(low / step) * step if high > low else max(0, low - step)
    x_max = math.ceil(high / step) * step if high > low else low + step
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(count: float) -> float:
        return round(LEFT + (count - x_min) / (x_max - x_min) * plot_w, 1)

    def y_of(score: float) -> float:
        return round(TOP + (1.0 - score) * plot_h, 1)

    x_ticks = []
    value = x_min
    while value <= x_max + 1e-9:
        x_ticks.append(Tick(x_of(value), f"{value:,.0f}"))
        value += step
    y_ticks = [Tick(y_of(v / 5), f"{v / 5:.1f}") for v in range(6)]

    series = [
        Series("micro", labels["micro"], "#0b5cad"),
        Series("macro", labels["macro"], "#9a6700"),
    ]
    for s in series:
        coords = []
        for v in points:
            score = float(v.metrics.get(f"{s.key}_f1") or 0.0)
            x, y = x_of(v.metrics["labeled_count"]), y_of(score)
            coords.append(f"{x},{y}")
            s.markers.append(
                Marker(x, y, f"v{v.pk}: {s.label} {score:.3f}, {v.metrics['labeled_count']}")
            )
        s.points = " ".join(coords)
    return LearningCurve(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM, x_ticks, y_ticks, series)

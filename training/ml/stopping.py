"""When to stop: forecast the labels still needed to reach a target F1.

The learning curve across model versions (labeled products, micro-F1 on the frozen
evaluation set) is fitted with an inverse power law, the usual shape of learning
curves (Figueroa et al. 2012; Hestness et al. 2017):

    F1(n) = ceiling - scale * n ** -rate        (rate > 0, ceiling <= 1)

by least squares on the points, later points weighted more (each point's
standard error taken as (labels / most labels) ** -WEIGHT_POWER: their labels
include the earlier ones, and the curve's early shape says little about its end;
1.5 forecast best of 0, 0.5, 1, 1.5 and 2 on simulated Myntra and Flipkart
curves). Then:

- `labels_needed`: the labels still to review to reach the target,
  (scale / (ceiling - target)) ** (1 / rate) - labels now; None when the fitted
  ceiling stays below the target (more labels will not get there at this rate);
- `f1_at(n)`: the F1 expected after n labels, e.g. another batch.

No fit below MIN_POINTS distinct label counts: three parameters need more points
than that to mean anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_POINTS = 4
WEIGHT_POWER = 1.5
MAX_RATE = 3.0
# Forecasts further out than this many times the labels so far are not trusted.
HORIZON = 20.0


@dataclass(frozen=True)
class CurveFit:
    ceiling: float
    scale: float
    rate: float

    def f1_at(self, labels: float) -> float:
        return float(self.ceiling - self.scale * max(labels, 1.0) ** -self.rate)

    def labels_for(self, target: float) -> float | None:
        """Labels (in all) at which the fitted curve reaches target; None: never."""
        gap = self.ceiling - target
        if gap <= 0:
            return None
        if self.scale <= 0:
            return 1.0
        return float((self.scale / gap) ** (1.0 / self.rate))


@dataclass(frozen=True)
class Forecast:
    target: float
    labels: int  # labeled products now (the last point)
    f1: float  # the last point's F1
    fit: CurveFit
    points: int
    labels_needed: int | None  # more labels to the target; 0 when reached; None: not in sight
    reached: bool

    @property
    def ceiling(self) -> float:
        return self.fit.ceiling

    def f1_after(self, more: int) -> float:
        return self.fit.f1_at(self.labels + more)


def _clean(labels: Sequence[float], f1: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by labels; repeated label counts averaged."""
    x = np.asarray(labels, dtype=np.float64)
    y = np.asarray(f1, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    x, y = x[keep], y[keep]
    ux, inverse = np.unique(x, return_inverse=True)
    uy = np.bincount(inverse, weights=y) / np.bincount(inverse)
    return ux, uy


def fit_curve(labels: Sequence[float], f1: Sequence[float]) -> CurveFit | None:
    """The inverse power law through the points (None with too few of them)."""
    from scipy.optimize import curve_fit

    x, y = _clean(labels, f1)
    if len(x) < MIN_POINTS:
        return None

    def law(n: np.ndarray, ceiling: float, scale: float, rate: float) -> np.ndarray:
        return ceiling - scale * n**-rate

    # Later points count more: sigma falls as the label count grows.
    sigma = (x / x.max()) ** -WEIGHT_POWER
    start = (min(1.0, float(y.max()) + 0.02), float(y.max() - y.min()) * float(x.min()) ** 0.5, 0.5)
    try:
        params, _ = curve_fit(
            law,
            x,
            y,
            p0=start,
            sigma=sigma,
            bounds=([float(y.max()) - 1e-9, 0.0, 0.05], [1.0, np.inf, MAX_RATE]),
            maxfev=20_000,
        )
    except (RuntimeError, ValueError):
        return None
    ceiling, scale, rate = (float(p) for p in params)
    if not all(math.isfinite(v) for v in (ceiling, scale, rate)):
        return None
    return CurveFit(ceiling, scale, rate)


def forecast(labels: Sequence[float], f1: Sequence[float], target: float) -> Forecast | None:
    """Labels still needed to reach target F1, from the curve so far; None when
    the curve has too few points to fit."""
    fit = fit_curve(labels, f1)
    if fit is None:
        return None
    x, y = _clean(labels, f1)
    now, last = int(x[-1]), float(y[-1])
    if last >= target:
        return Forecast(target, now, last, fit, len(x), 0, True)
    total = fit.labels_for(target)
    needed = None
    if total is not None and total <= HORIZON * now:
        needed = max(0, math.ceil(total - now))
    return Forecast(target, now, last, fit, len(x), needed, False)

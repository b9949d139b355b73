import numpy as np
import pytest

from training.ml.stopping import CurveFit, fit_curve, forecast

LAW = CurveFit(ceiling=0.92, scale=1.2, rate=0.6)
LABELS = [100, 200, 300, 400, 500]


def points(law: CurveFit = LAW, labels: list[int] = LABELS) -> list[float]:
    return [law.f1_at(n) for n in labels]


def test_the_fit_recovers_an_exact_inverse_power_law() -> None:
    fit = fit_curve(LABELS, points())

    assert fit is not None
    assert fit.ceiling == pytest.approx(0.92, abs=1e-3)
    assert fit.rate == pytest.approx(0.6, abs=1e-2)


def test_the_forecast_counts_the_labels_still_needed_to_the_target() -> None:
    # By hand: 0.92 - 1.2 n^-0.6 = 0.9  <=>  n = (1.2 / 0.02) ** (1 / 0.6) = 920.9...
    result = forecast(LABELS, points(), target=0.9)

    assert result is not None
    assert not result.reached
    assert result.labels == 500
    assert result.labels_needed == pytest.approx(921 - 500, abs=15)
    assert result.f1_after(500) == pytest.approx(LAW.f1_at(1000), abs=1e-3)


def test_a_target_already_reached_needs_no_more_labels() -> None:
    result = forecast(LABELS, points(), target=0.7)

    assert result is not None
    assert result.reached
    assert result.labels_needed == 0


def test_a_target_above_the_ceiling_is_not_in_sight() -> None:
    result = forecast(LABELS, points(), target=0.95)

    assert result is not None
    assert result.labels_needed is None
    assert result.ceiling < 0.95


def test_too_few_points_give_no_forecast() -> None:
    assert forecast([100, 200, 300], points(labels=[100, 200, 300]), target=0.9) is None
    # Repeated label counts are one point (averaged).
    assert forecast([100, 100, 200, 300], [0.5, 0.52, 0.6, 0.65], target=0.9) is None


def test_noisy_points_still_give_a_finite_forecast() -> None:
    noise = np.random.default_rng(0).normal(scale=0.004, size=len(LABELS))

    result = forecast(LABELS, (np.array(points()) + noise).tolist(), target=0.9)

    assert result is not None
    assert result.labels_needed is None or 0 <= result.labels_needed < 20 * 500

import pytest

from tests.factories import ModelVersionFactory
from training.models import ModelVersion
from training.services.job import promotion_decision, should_promote


def version(mode: str = "head", pk: int = 1, **metrics: object) -> ModelVersion:
    return ModelVersionFactory.build(pk=pk, mode=mode, metrics=dict(metrics))


def test_the_first_trained_model_is_promoted() -> None:
    assert should_promote(version(micro_f1=0.2), None, margin=0.01)


def test_a_trained_model_replaces_the_zero_shot_one() -> None:
    assert should_promote(version(micro_f1=0.1), version("zero_shot", pk=9), margin=0.01)


@pytest.mark.parametrize(("new", "promoted"), [(0.81, True), (0.805, False), (0.7, False)])
def test_a_model_must_beat_the_active_one_by_the_margin_on_the_same_eval_set(
    new: float, promoted: bool
) -> None:
    active = version(pk=9, micro_f1=0.5, eval_fingerprint="old-set")
    # The active model re-measured on today's evaluation set scored 0.8.
    candidate = version(
        micro_f1=new, eval_fingerprint="new-set", baseline={"version": 9, "micro_f1": 0.8}
    )

    assert should_promote(candidate, active, margin=0.01) is promoted


def test_without_a_comparison_on_the_same_eval_set_it_is_not_promoted() -> None:
    active = version(pk=9, micro_f1=0.5, eval_fingerprint="old-set")
    candidate = version(micro_f1=0.99, eval_fingerprint="new-set")

    assert not should_promote(candidate, active, margin=0.01)


def test_a_model_without_metrics_does_not_replace_a_trained_one() -> None:
    assert not should_promote(version(), version(pk=9, micro_f1=0.5), margin=0.0)


def test_a_trained_model_measured_below_the_zero_shot_one_is_not_promoted() -> None:
    zero_shot = version("zero_shot", pk=9)
    # The zero-shot model, scored on the new model's evaluation set, did better.
    candidate = version(micro_f1=0.961, baseline={"version": 9, "micro_f1": 0.982})

    decision = promotion_decision(candidate, zero_shot, margin=0.01)

    assert decision == {
        "promoted": False,
        "reason": "not_better",
        "active": 9,
        "new": 0.961,
        "old": 0.982,
        "margin": 0.0,
    }
    assert not should_promote(candidate, zero_shot, margin=0.01)


def test_a_trained_model_that_ties_the_zero_shot_one_takes_over_without_the_margin() -> None:
    candidate = version(micro_f1=0.9, baseline={"version": 9, "micro_f1": 0.9})

    assert should_promote(candidate, version("zero_shot", pk=9), margin=0.05)


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (version(micro_f1=0.99, eval_fingerprint="new-set"), "no_comparison"),
        (version(), "no_metrics"),
        (version(micro_f1=0.9, baseline={"version": 9, "micro_f1": 0.5}), "beats"),
    ],
)
def test_every_decision_says_why(candidate: ModelVersion, reason: str) -> None:
    active = version(pk=9, micro_f1=0.5, eval_fingerprint="old-set")

    assert promotion_decision(candidate, active, margin=0.01)["reason"] == reason
    assert promotion_decision(candidate, None, margin=0.01) == {"promoted": True, "reason": "first"}


def test_an_active_version_unmeasured_on_the_same_set_gives_way() -> None:
    active = version(pk=9, eval_fingerprint="set")
    candidate = version(micro_f1=0.5, eval_fingerprint="set")

    decision = promotion_decision(candidate, active, margin=0.01)

    assert decision["promoted"] is True
    assert decision["reason"] == "active_unmeasured"

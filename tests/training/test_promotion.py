import pytest

from tests.factories import ModelVersionFactory
from training.models import ModelVersion
from training.services.job import should_promote


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

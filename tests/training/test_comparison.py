"""Versions compared on the same evaluation set: the models page says which
set each figure comes from, and older versions are measured again on the
current set (by the task the page queues, and by each training run for the
active version)."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import Product, ProjectSettings
from tests.factories import ModelVersionFactory
from tests.training.conftest import MakeCatalogue
from training.models import ModelVersion
from training.services import comparison, datasets, job, runs, versions

Capture = Callable[..., object]


class KnowsRedOnly:
    """A stand-in model: it says red for every product whose text says red."""

    tag_vocab: Sequence[str] = ("colour:red", "colour:blue")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[1.0 if "red" in t else 0.0, 0.0] for t in texts])

    def decide(self, scores: np.ndarray) -> np.ndarray:
        return scores > 0.5


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def eval_set(make_catalogue: MakeCatalogue) -> datasets.LabeledSet:
    """Nine labeled products, all in the evaluation set."""
    make_catalogue(9)
    Product.objects.update(is_eval=True)
    return datasets.labeled_examples(eval_only=True)


@pytest.fixture
def files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every version has its files, and loads as KnowsRedOnly."""
    monkeypatch.setattr(versions, "has_artifact", lambda version: True)
    monkeypatch.setattr(versions, "load_model", lambda version: KnowsRedOnly())


def measured(fingerprint: str, micro: float, n: int, **fields: object) -> ModelVersion:
    return ModelVersionFactory(
        status=fields.pop("status", "ready"),
        metrics={
            "micro_f1": micro,
            "macro_f1": micro / 2,
            "n_eval": n,
            "eval_fingerprint": fingerprint,
        },
        **fields,
    )


@pytest.mark.django_db
def test_figures_say_whether_they_come_from_the_current_set(
    eval_set: datasets.LabeledSet,
) -> None:
    current = comparison.current_eval_set(eval_set)
    assert current is not None
    same = measured(current.fingerprint, 0.8, 9)
    older = measured("an-earlier-set", 0.9, 4)

    on_same = comparison.figures(same, current)
    on_older = comparison.figures(older, current)

    assert on_same is not None
    assert on_same.current
    assert on_same.n_eval == 9
    assert on_older is not None
    assert not on_older.current
    assert on_older.n_eval == 4
    assert comparison.needs_remeasure(older, current) is False  # no files: cannot
    assert current.size == 9


@pytest.mark.django_db
def test_remeasuring_puts_an_older_version_on_the_current_set(
    eval_set: datasets.LabeledSet, files: None
) -> None:
    current = comparison.current_eval_set(eval_set)
    assert current is not None
    older = measured("an-earlier-set", 0.9, 4)
    assert comparison.needs_remeasure(older, current)

    done = comparison.remeasure_versions()

    older.refresh_from_db()
    figures = comparison.figures(older, current)
    assert done == [older.pk]
    assert figures is not None
    assert figures.current
    assert figures.n_eval == 9
    # It finds the three red products and misses the three blue ones (green
    # is not in its vocabulary): precision 1, recall 1/2.
    assert figures.micro_f1 == pytest.approx(2 / 3)
    # The training-time figures stay as they were.
    assert older.metrics["micro_f1"] == 0.9
    assert comparison.needs_remeasure(older, current) is False


@pytest.mark.django_db
def test_the_models_page_says_which_set_each_figure_comes_from(
    admin_client: Client, eval_set: datasets.LabeledSet, files: None
) -> None:
    current = comparison.current_eval_set(eval_set)
    assert current is not None
    newer = measured(current.fingerprint, 0.8, 9, status="active")
    older = measured("0ldset00-and-more", 0.95, 4)

    html = admin_client.get(reverse("training:models")).content.decode()

    assert f"now 9 labeled products, set {current.short}" in html
    assert f"the current set: 9 products (set {current.short})" in html
    assert "* an earlier set: 4 products (set 0ldset00)" in html
    assert "not yet measured on the current set" in html
    assert f'name="version" value="{older.pk}"' in html
    assert f'name="version" value="{newer.pk}"' not in html
    assert "Measure 1 version on the current set" in html


@pytest.mark.django_db
def test_the_models_page_button_measures_the_older_versions(
    admin_client: Client,
    eval_set: datasets.LabeledSet,
    files: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    current = comparison.current_eval_set(eval_set)
    assert current is not None
    measured(current.fingerprint, 0.8, 9, status="active")
    older = measured("0ldset00-and-more", 0.95, 4)

    # The task goes out through the outbox once the request's data commits.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("training:remeasure"), {"version": [older.pk]})
    response = admin_client.get(reverse("training:models"))

    html = response.content.decode()
    assert f"Measuring v{older.pk} on the current evaluation set" in html
    assert "* an earlier set" not in html
    assert "Measure 1 version" not in html
    older.refresh_from_db()
    assert current.fingerprint in older.metrics["on_sets"]


@pytest.mark.django_db
def test_a_merchandiser_cannot_queue_a_measuring(client: Client, merchandiser: User) -> None:
    client.force_login(merchandiser)

    assert client.post(reverse("training:remeasure"), {"version": ["1"]}).status_code == 403


@pytest.mark.django_db
def test_a_training_run_measures_the_active_version_on_the_grown_set(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    project = ProjectSettings.load()
    project.auto_promote, project.promote_margin = True, -1.0
    project.save()
    make_catalogue(30)
    with django_capture_on_commit_callbacks(execute=True):
        first_run = runs.trigger_training(admin_user, "head")
    first = ModelVersion.objects.get(run=first_run)
    # Enough new labels for the evaluation set to grow.
    make_catalogue(20, start=30)
    with django_capture_on_commit_callbacks(execute=True):
        second_run = runs.trigger_training(admin_user, "head")
    second = ModelVersion.objects.get(run=second_run)

    first.refresh_from_db()
    current = comparison.current_eval_set()
    assert current is not None
    assert second.metrics["eval_fingerprint"] == current.fingerprint
    assert first.metrics["eval_fingerprint"] != current.fingerprint
    on_current = comparison.figures(first, current)
    assert on_current is not None
    assert on_current.current
    assert on_current.n_eval == second.metrics["n_eval"]


@pytest.mark.django_db
def test_a_version_the_rule_keeps_back_says_why_on_the_models_page(
    admin_client: Client, eval_set: datasets.LabeledSet, files: None
) -> None:
    project = ProjectSettings.load()
    project.auto_promote, project.promote_margin = True, 0.01
    project.save()
    current = comparison.current_eval_set(eval_set)
    assert current is not None
    zero_shot = ModelVersionFactory(mode="zero_shot", status="active", metrics={})
    candidate = ModelVersionFactory(
        status="ready",
        metrics={
            "micro_f1": 0.961,
            "macro_f1": 0.8,
            "n_eval": 9,
            "eval_fingerprint": current.fingerprint,
            # The zero-shot model scored better on the same set.
            "baseline": {"version": zero_shot.pk, "micro_f1": 0.982},
        },
    )

    promoted = job.maybe_auto_promote(candidate)

    candidate.refresh_from_db()
    zero_shot.refresh_from_db()
    assert not promoted
    assert zero_shot.status == "active"
    assert candidate.status == "ready"
    assert candidate.metrics["auto_promotion"]["reason"] == "not_better"
    html = admin_client.get(reverse("training:models")).content.decode()
    assert (
        f"Not promoted automatically: micro-F1 0.961 is below the active v{zero_shot.pk}'s "
        "0.982 on the same evaluation set." in html
    )


@pytest.mark.django_db
def test_the_dashboard_shows_the_active_versions_figures_on_the_current_set(
    admin_client: Client, eval_set: datasets.LabeledSet, files: None
) -> None:
    # A version rolled back to: measured on the current set only after it was
    # trained (a zero-shot model has no training-time figures at all).
    active = ModelVersionFactory(mode="zero_shot", status="active", metrics={})
    comparison.remeasure(active)

    html = admin_client.get(reverse("training:dashboard")).content.decode()

    assert "micro-F1 0.667 · macro-F1" in html
    assert "not measured yet" not in html


@pytest.mark.django_db
def test_the_dashboard_shows_the_latest_measuring_over_the_training_time_figures(
    admin_client: Client, eval_set: datasets.LabeledSet, files: None
) -> None:
    active = measured("an-earlier-set", 0.9, 4, status="active")
    comparison.remeasure(active)

    html = admin_client.get(reverse("training:dashboard")).content.decode()

    assert "micro-F1 0.667 · macro-F1" in html
    assert "micro-F1 0.900" not in html

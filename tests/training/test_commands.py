from collections.abc import Callable
from contextlib import AbstractContextManager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.models import ProjectSettings, Suggestion
from tests.factories import TrainingRunFactory
from tests.training.conftest import MakeCatalogue
from training.ml import model as ml_model
from training.models import ModelVersion, TrainingRun


@pytest.mark.django_db
def test_train_inline_trains_promotes_and_scores_without_a_worker(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager],
) -> None:
    products = make_catalogue(30)
    out = StringIO()

    # The promotion enqueues scoring on commit; the test's transaction commits here.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("train", "--mode", "head", "--inline", stdout=out, stderr=StringIO())

    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert f"model v{run.model_version.pk} (active): micro-F1" in out.getvalue()
    scored = Suggestion.objects.filter(model_version=run.model_version)
    assert scored.values("product").distinct().count() == len(products)


@pytest.mark.django_db
def test_train_exits_with_the_recorded_error_when_training_fails(
    ml_settings: Path, make_catalogue: MakeCatalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_catalogue(20)

    def explode(*args: object, **kwargs: object) -> None:
        raise MemoryError("the catalogue does not fit")

    monkeypatch.setattr(ml_model, "train_tagger", explode)

    with pytest.raises(CommandError, match="MemoryError: the catalogue does not fit"):
        call_command("train", "--mode", "head", "--inline", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_train_refuses_while_a_run_is_in_flight(make_catalogue: MakeCatalogue) -> None:
    TrainingRunFactory(mode="head")

    with pytest.raises(CommandError, match="already queued"):
        call_command("train", "--mode", "head", stdout=StringIO())


@pytest.mark.django_db
def test_promote_and_rollback_commands_switch_the_active_version(
    ml_settings: Path, make_catalogue: MakeCatalogue
) -> None:
    make_catalogue(20)
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auto_promote": False})
    call_command("train", "--mode", "head", "--inline", stdout=StringIO(), stderr=StringIO())
    call_command("train", "--mode", "head", "--inline", stdout=StringIO(), stderr=StringIO())
    older, newer = ModelVersion.objects.order_by("created_at", "id")

    call_command("promote", str(newer.pk), stdout=StringIO())
    call_command("rollback", str(older.pk), stdout=StringIO())

    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == ModelVersion.Status.ACTIVE
    assert newer.status == ModelVersion.Status.ARCHIVED
    with pytest.raises(CommandError, match="no model version"):
        call_command("promote", "999999", stdout=StringIO())

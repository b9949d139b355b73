"""The disk fills up while a training writes its model artifact.

The artifact is written into a temporary directory beside MODEL_DIR/v<id> and
moved into place only once complete, so a failed write must leave neither a
partial version directory nor the temporary one, record the run as failed with
the reason, and leave the active version serving from its own files."""

import errno
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from annotation.models import ProjectSettings
from tests.training.conftest import MakeCatalogue
from training.models import ModelVersion, TrainingRun
from training.services import job, runs, versions

pytestmark = pytest.mark.django_db


def _train(user: User) -> TrainingRun:
    run = runs.trigger_training(user, "head", enqueue=False)
    try:
        job.run_training(run.pk)
    finally:
        run.refresh_from_db()
    return run


def _fill_the_disk_after(written: int) -> Callable[[dict, str], None]:
    """A safetensors save that writes `written` bytes of the file, then finds
    the device full, as a real full disk would."""

    def save_file(tensors: dict, filename: str, metadata: object = None) -> None:
        with open(filename, "wb") as handle:
            handle.write(b"\0" * written)
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    return save_file


def test_a_full_disk_fails_the_run_cleanly_and_the_active_model_keeps_serving(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an active model trained earlier
    make_catalogue(30)
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auto_promote": True})
    first = _train(admin_user)
    active = first.model_version
    assert active.status == ModelVersion.Status.ACTIVE
    model_dir = ml_settings / "models"
    before = sorted(p.name for p in model_dir.iterdir())

    # when the next training runs out of disk space while saving its weights
    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "save_file", _fill_the_disk_after(4096))
    with pytest.raises(OSError, match="No space left on device"):
        _train(admin_user)

    # then the run is failed with the reason, and its version with it
    run = TrainingRun.objects.exclude(pk=first.pk).get()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error.startswith("OSError: [Errno 28] No space left on device")
    assert run.in_flight is None
    assert run.model_version.status == ModelVersion.Status.FAILED
    # and nothing of its artifact is left: no version directory, no temporary one
    assert sorted(p.name for p in model_dir.iterdir()) == before
    assert not versions.artifact_dir(run.model_version).exists()
    # and the active version is untouched and still predicts from its own files
    active.refresh_from_db()
    assert active.status == ModelVersion.Status.ACTIVE
    versions._MODEL_CACHE.clear()
    predictions = versions.load_model(active).predict(["red cotton shirt"])
    assert predictions[0]
    # and the admin sees why on the models page
    client = Client()
    client.force_login(admin_user)
    assert "No space left on device" in client.get("/training/").content.decode()

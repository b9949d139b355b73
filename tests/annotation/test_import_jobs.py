"""Uploaded files are imported as background jobs: stored under
TAGGER_UPLOAD_DIR, imported by a worker (eagerly here, once the queuing
transaction commits), the progress written on the ImportBatch, which the page
polls, and the stored file deleted however the import ends."""

import gzip
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import ImportBatch, Product
from annotation.services.importing import (
    ImportProgress,
    queue_import,
    run_queued_import,
)
from annotation.services.importing import background as background_module
from tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload_dir(settings: Any, tmp_path: Path) -> Path:
    settings.TAGGER_UPLOAD_DIR = tmp_path / "uploads"
    return settings.TAGGER_UPLOAD_DIR


def upload(data: bytes, name: str = "catalog.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def stored(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def test_the_upload_is_stored_and_queued_until_the_transaction_commits(
    upload_dir: Path, django_capture_on_commit_callbacks: Any, admin_user: User
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = queue_import(
            upload(b"id,title\nA1,Mug\n"), filename="catalog.csv", keep_valid=False, user=admin_user
        )

    assert batch.status == ImportBatch.Status.QUEUED
    assert batch.file_size == 16
    assert [path.name for path in stored(upload_dir)] == [batch.stored_file]
    assert (upload_dir / batch.stored_file).read_bytes() == b"id,title\nA1,Mug\n"
    assert Product.objects.count() == 0
    assert callbacks  # the task is sent once the batch is committed


def test_the_worker_imports_it_and_deletes_the_file(
    upload_dir: Path, django_capture_on_commit_callbacks: Any, admin_user: User
) -> None:
    data = gzip.compress(b"id,title\n" + b"".join(f"A{i},Mug {i}\n".encode() for i in range(1200)))

    with django_capture_on_commit_callbacks(execute=True):
        batch = queue_import(
            upload(data, "catalog.csv.gz"), filename="catalog.csv.gz", keep_valid=False, user=None
        )

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert (batch.rows_created, batch.rows_total, batch.progress) == (1200, 1200, 100.0)
    assert batch.stage == ""  # where a running import is; this one has finished
    assert batch.heartbeat_at is not None
    assert batch.stored_file == ""
    assert stored(upload_dir) == []


def test_a_failed_import_deletes_the_file_too(
    upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        batch = queue_import(
            upload(b"\x89PNG\r\n\x1a\n"), filename="photo.csv", keep_valid=False, user=None
        )

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "not a CSV/JSON/JSONL file" in batch.errors[0]["reason"]
    assert batch.stage == ""
    assert stored(upload_dir) == []


def test_an_upload_over_the_size_limit_is_not_stored(upload_dir: Path, settings: Any) -> None:
    settings.TAGGER_MAX_UPLOAD_BYTES = 10

    with pytest.raises(Exception, match="the limit is 10 bytes"):
        queue_import(upload(b"id,title\nA1,Mug\n"), filename="c.csv", keep_valid=False, user=None)

    assert stored(upload_dir) == []
    assert ImportBatch.objects.count() == 0


def test_a_stored_file_the_worker_cannot_find_fails_the_batch(upload_dir: Path) -> None:
    batch = ImportBatchFactory(status=ImportBatch.Status.QUEUED, stored_file="gone.upload")

    run_queued_import(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "was not found by the worker" in batch.errors[0]["reason"]
    assert batch.stored_file == ""


def test_an_import_whose_worker_went_silent_is_failed_and_its_file_deleted(
    upload_dir: Path, settings: Any
) -> None:
    # given: one import whose worker last reported long ago, one still reporting
    settings.TAGGER_HEARTBEAT_STALE_SECONDS = 120
    upload_dir.mkdir(parents=True)
    (upload_dir / "dead.upload").write_bytes(b"id,title\n")
    now = timezone.now()
    dead = ImportBatchFactory(
        status=ImportBatch.Status.RUNNING,
        stored_file="dead.upload",
        heartbeat_at=now - timedelta(minutes=10),
    )
    alive = ImportBatchFactory(status=ImportBatch.Status.RUNNING, heartbeat_at=now)

    # when
    failed = background_module.fail_stale_imports()

    # then
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert failed == 1
    assert dead.status == ImportBatch.Status.FAILED
    assert "stopped reporting" in dead.errors[0]["reason"]
    assert dead.stored_file == ""
    assert stored(upload_dir) == []
    assert alive.status == ImportBatch.Status.RUNNING
    assert background_module.fail_stale_imports() == 0


def test_a_redelivered_task_does_not_run_the_import_again(
    upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        batch = queue_import(
            upload(b"id,title\nA1,Mug\n"), filename="c.csv", keep_valid=False, user=None
        )
    batch.refresh_from_db()
    finished_at = batch.finished_at

    assert run_queued_import(batch.pk) is None

    batch.refresh_from_db()
    assert batch.finished_at == finished_at
    assert Product.objects.count() == 1


def test_an_internal_error_fails_the_batch_and_deletes_the_file(
    upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = queue_import(
            upload(b"id,title\nA1,Mug\n"), filename="c.csv", keep_valid=False, user=None
        )
    assert callbacks

    with (
        mock.patch.object(background_module, "import_into", side_effect=RuntimeError("bug")),
        pytest.raises(RuntimeError),
    ):
        run_queued_import(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors == [{"line": 0, "reason": background_module.INTERNAL_ERROR}]
    assert stored(upload_dir) == []


def test_progress_is_written_on_the_batch() -> None:
    batch = ImportBatchFactory(status=ImportBatch.Status.RUNNING, file_size=1000)
    report = background_module._BatchProgress(batch)

    report(ImportProgress("reading", rows=500, new_rows=500, bytes_read=250))
    batch.refresh_from_db()
    assert (batch.progress, batch.rows_total, batch.stage) == (25.0, 500, "")
    assert batch.heartbeat_at is not None

    report(ImportProgress("saving", rows=800, new_rows=0, bytes_read=0))
    batch.refresh_from_db()
    assert (batch.progress, batch.rows_total, batch.stage) == (25.0, 800, "saving")


# -- the pages ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def test_a_running_import_shows_a_progress_bar_that_polls(admin_client: Client) -> None:
    batch = ImportBatchFactory(
        source="big.csv", status=ImportBatch.Status.RUNNING, stage="reading", progress=42.5
    )
    progress_url = reverse("annotation:import_progress", args=[batch.pk])

    page = admin_client.get(reverse("annotation:import")).content.decode()
    fragment = admin_client.get(progress_url).content.decode()

    for html in (page, fragment):
        assert f'hx-get="{progress_url}"' in html
        assert f'<progress id="import-bar-{batch.pk}" max="100" value="42.5"' in html
        assert "Reading and checking the rows" in html


def test_a_queued_import_waits_for_a_worker(admin_client: Client) -> None:
    batch = ImportBatchFactory(status=ImportBatch.Status.QUEUED)

    html = admin_client.get(reverse("annotation:import_batch", args=[batch.pk])).content.decode()

    assert "Waiting for a worker" in html
    assert "hx-get" in html


def test_a_finished_import_stops_polling_and_shows_the_outcome(admin_client: Client) -> None:
    batch = ImportBatchFactory(
        status=ImportBatch.Status.FAILED,
        rows_rejected=1_500,
        errors=[{"line": 0, "reason": "the file is over 1 GiB"}, {"line": 3, "reason": "bad"}],
        errors_omitted=1_499,
    )

    html = admin_client.get(reverse("annotation:import_progress", args=[batch.pk])).content.decode()

    assert "hx-get" not in html
    assert "Nothing was saved" in html
    assert "<td>whole file</td><td>the file is over 1 GiB</td>" in html
    assert "1501 problems" in html
    assert "… and 1,499 more." in html


def test_merchandisers_cannot_see_imports(client: Client, merchandiser: User) -> None:
    batch = ImportBatchFactory()
    client.force_login(merchandiser)

    for name in ("annotation:import_batch", "annotation:import_progress"):
        assert client.get(reverse(name, args=[batch.pk])).status_code == 403


def test_a_body_over_the_upload_limit_is_refused_before_the_csrf_check_reads_it(
    admin_user: User, settings: Any
) -> None:
    settings.TAGGER_MAX_UPLOAD_BYTES = 20
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get("/")
    big = b"id,title\n" + b"1,x\n" * 40_000

    page = client.post(reverse("annotation:taxonomy_add_tag"), {"file": upload(big)})
    api = client.post("/api/v1/imports/", {"file": upload(big)})

    # 413, not the CSRF 403: refused before the form (and its file) was parsed.
    assert page.status_code == 413
    assert "larger than 20" in page.content.decode()
    assert api.status_code == 413
    assert "larger than 20" in api.json()["detail"]

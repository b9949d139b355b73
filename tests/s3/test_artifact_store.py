"""Model versions and uploads in a real S3-compatible store (SeaweedFS on loopback)."""

import gzip
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import ImportBatch, Product
from annotation.services.importing import queue_import, uploads
from tagger.storage_urls import SPOOL_MAX_MEMORY_BYTES
from tests.factories import ModelVersionFactory
from training.ml.model import build_zero_shot
from training.ml.types import TagSpec
from training.models import ModelVersion
from training.services import artifact_store, versions

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def write_artifact(directory: Path, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(body)


def keys_under(prefix: str) -> list[str]:
    """The object keys in the model store under `prefix`, relative to its location,
    sorted (SeaweedFS may also list an emptied folder; S3 would not: ignored)."""
    storage = storages["models"]
    root = f"{storage.location}/"
    keys = [o.key for o in storage.bucket.objects.filter(Prefix=root + prefix)]
    return sorted(
        (key[len(root) :] for key in keys if not key.endswith("/")),
        key=lambda key: (key.count("/"), key),
    )


def test_publish_then_fetch_gives_the_same_files(model_store: str, tmp_path: Path) -> None:
    source = tmp_path / "built"
    files = {"config.json": b'{"a": 1}', "encoder/model.bin": bytes(range(256)) * 4000}
    write_artifact(source, files)

    marker = artifact_store.publish("v7", source)

    assert artifact_store.is_published("v7")
    assert set(marker["files"]) == set(files)
    local = tmp_path / "worker-b" / "v7"
    assert artifact_store.fetch("v7", local)
    for name, body in files.items():
        assert (local / name).read_bytes() == body
    assert (local / artifact_store.LOCAL_STAMP).read_text().strip() == marker["publish"]


def test_files_without_their_marker_are_not_a_version(model_store: str, tmp_path: Path) -> None:
    # A publisher that died after uploading the files but before the marker.
    storages["models"].save("v8/deadbeef/config.json", ContentFile(b"{}"))

    assert not artifact_store.is_published("v8")
    assert not artifact_store.fetch("v8", tmp_path / "v8")
    assert not (tmp_path / "v8").exists()


def test_a_file_that_does_not_match_its_marker_is_refused(model_store: str, tmp_path: Path) -> None:
    source = tmp_path / "built"
    write_artifact(source, {"config.json": b'{"a": 1}'})
    marker = artifact_store.publish("v9", source)
    storage = storages["models"]
    storage.save(f"v9/{marker['publish']}/config.json", ContentFile(b'{"a": 2}'))

    with pytest.raises(artifact_store.ArtifactStoreError):
        artifact_store.fetch("v9", tmp_path / "v9")
    assert not (tmp_path / "v9").exists()


def test_republishing_replaces_the_files_and_removes_the_old_ones(
    model_store: str, tmp_path: Path
) -> None:
    source = tmp_path / "built"
    write_artifact(source, {"config.json": b"old"})
    first = artifact_store.publish("v3", source)
    write_artifact(source, {"config.json": b"new"})
    second = artifact_store.publish("v3", source)

    assert first["publish"] != second["publish"]
    assert keys_under("v3/") == ["v3/published.json", f"v3/{second['publish']}/config.json"]
    assert artifact_store.fetch("v3", tmp_path / "v3")
    assert (tmp_path / "v3" / "config.json").read_bytes() == b"new"


def test_a_registered_version_loads_on_a_worker_with_an_empty_cache(
    model_store: str, tiny_bert: Path, settings, tmp_path: Path
) -> None:
    tags = [
        TagSpec(key="colour:red", facet="colour", name="red"),
        TagSpec(key="colour:blue", facet="colour", name="blue"),
    ]
    model = build_zero_shot(tags, base_model=str(tiny_bert))
    version = ModelVersionFactory(mode=ModelVersion.Mode.ZERO_SHOT, status="training")

    versions.register_built_model(version, model)

    version.refresh_from_db()
    assert version.artifact_path == f"{model_store.split('?')[0]}/v{version.pk}"
    assert artifact_store.is_published(f"v{version.pk}")
    # Another machine: its own, empty MODEL_DIR; only the store is shared.
    settings.MODEL_DIR = tmp_path / "other-worker" / "models"
    versions._MODEL_CACHE.clear()
    versions._PUBLISHED.clear()
    assert not versions.artifact_dir(version).exists()
    assert versions.has_artifact(version)

    loaded = versions.load_model(version)

    assert versions.artifact_dir(version).is_dir()
    texts = ["red shirt", "blue bag"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)


def test_a_version_not_published_is_not_promotable_anywhere(model_store: str) -> None:
    version = ModelVersionFactory(status="ready", artifact_path=artifact_store.remote_url("v999"))
    assert not versions.has_artifact(version)
    with pytest.raises(FileNotFoundError):
        versions.load_model(version)


def test_discarding_a_failed_version_removes_it_from_the_store(
    model_store: str, tmp_path: Path
) -> None:
    version = ModelVersionFactory(status="training")
    source = tmp_path / "built"
    write_artifact(source, {"config.json": b"{}"})
    artifact_store.publish(f"v{version.pk}", source)

    versions.discard_artifact(version)

    assert not artifact_store.is_published(f"v{version.pk}")
    assert keys_under(f"v{version.pk}/") == []


def test_uploads_wait_in_the_object_store(model_store: str) -> None:
    body = json.dumps({"id": "p1", "title": "red shirt"}).encode() + b"\n"
    stored = uploads.store(ContentFile(body, name="catalogue.jsonl"))

    assert stored.size == len(body)
    assert storages["uploads"].exists(stored.name)
    with uploads.open_stored(stored.name) as handle:
        assert handle.read() == body
    uploads.delete_stored(stored.name)
    assert not storages["uploads"].exists(stored.name)
    with pytest.raises(FileNotFoundError):
        uploads.open_stored(stored.name)


def test_an_uploaded_catalogue_is_imported_from_the_object_store(
    model_store: str, django_capture_on_commit_callbacks
) -> None:
    data = gzip.compress(b"id,title\n" + b"".join(f"A{i},Mug {i}\n".encode() for i in range(300)))
    upload = SimpleUploadedFile("catalog.csv.gz", data, content_type="application/gzip")

    storage = storages["uploads"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = queue_import(upload, filename="catalog.csv.gz", keep_valid=False, user=None)
    # The file waits in the store (not in TAGGER_UPLOAD_DIR) for the worker.
    assert storage.exists(batch.stored_file)
    assert storage.size(batch.stored_file) == len(data)
    for callback in callbacks:
        callback()

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert batch.rows_created == 300
    assert Product.objects.filter(external_id="A299", title="Mug 299").exists()
    # Deleted from the store once imported.
    assert [o.key for o in storage.bucket.objects.filter(Prefix=f"{storage.location}/")] == []


def test_a_large_file_read_from_the_store_spills_to_disk(model_store: str) -> None:
    body = bytes(range(256)) * (SPOOL_MAX_MEMORY_BYTES // 256 + 4096)
    stored = uploads.store(ContentFile(body, name="big.jsonl"))

    with uploads.open_stored(stored.name) as handle:
        assert handle.read(10) == body[:10]
        assert handle.file._rolled  # a file on disk, not the whole upload in memory
        handle.seek(0)
        assert handle.read() == body
    uploads.delete_stored(stored.name)


def test_processes_fetching_the_same_version_at_once_fetch_it_once(
    model_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "built"
    write_artifact(source, {"config.json": b"{}", "head.bin": b"w" * 100_000})
    artifact_store.publish("v11", source)
    downloads: list[str] = []
    real_download = artifact_store._download

    def counted(name: str, marker: dict, directory: Path) -> None:
        downloads.append(name)
        real_download(name, marker, directory)

    monkeypatch.setattr(artifact_store, "_download", counted)
    target = tmp_path / "cache" / "v11"
    start = threading.Barrier(4)

    def fetch() -> bool:
        start.wait()
        return artifact_store.fetch("v11", target)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: fetch(), range(4)))

    assert results == [True] * 4
    assert downloads == ["v11"]
    assert (target / "head.bin").read_bytes() == b"w" * 100_000

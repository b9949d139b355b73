"""Model versions published to the shared object store (MODEL_STORAGE_URL) and
fetched into each worker's local read cache (MODEL_DIR).

Only used when MODEL_STORAGE_URL is set; without it a version is a directory of
MODEL_DIR and nothing here runs. The store is reached through Django's storage
API (the "models" entry of STORAGES, django-storages' S3 backend).

Publishing is atomic for readers: every file of a version goes under a fresh key
prefix `<name>/<publish id>/...`, and only then is the marker `<name>/published.json`
written (a single PUT: S3 shows the old object or the new one, never half of
one). The marker lists each file with its size and sha256. A reader reads the
marker, downloads exactly those files into a temporary directory, checks them and
renames the directory into the cache, so a version is either fully published and
fully fetched, or not there at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.utils import timezone

from training.ml.artifacts import write_directory_atomically

logger = logging.getLogger(__name__)

MARKER = "published.json"
# Written into the local copy: which publication of the version it is.
LOCAL_STAMP = ".published"
_CHUNK = 1024 * 1024


class ArtifactStoreError(Exception):
    """A published version whose files are missing or do not match its marker."""


def configured() -> bool:
    return bool(settings.MODEL_STORAGE_URL)


def remote_url(name: str) -> str:
    """The address recorded in ModelVersion.artifact_path for a published version."""
    return settings.MODEL_STORAGE_URL.split("?", 1)[0].rstrip("/") + "/" + name


def remote_name(artifact_path: str) -> str | None:
    """The store's name of a version recorded as `artifact_path`, or None when the
    path is not an address in the configured store (a local directory)."""
    if not configured() or "://" not in artifact_path:
        return None
    prefix = remote_url("")
    if not artifact_path.startswith(prefix):
        return None
    return artifact_path[len(prefix) :].strip("/") or None


def _storage() -> Storage:
    return storages["models"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != LOCAL_STAMP:
            yield path.relative_to(directory).as_posix(), path


def read_marker(name: str) -> dict[str, Any] | None:
    """The marker of a published version, or None while it is not published."""
    storage = _storage()
    key = f"{name}/{MARKER}"
    try:
        with storage.open(key, "rb") as handle:
            marker: dict[str, Any] = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    return marker


def is_published(name: str) -> bool:
    return _storage().exists(f"{name}/{MARKER}")


def publish(name: str, directory: Path) -> dict[str, Any]:
    """Upload the artifact `directory` as version `name`: its files under a new
    prefix, then the marker that makes them visible. Older publications of the same
    name are deleted afterwards. Returns the marker."""
    storage = _storage()
    publish_id = uuid4().hex
    files: dict[str, dict[str, Any]] = {}
    for relative, path in _files(Path(directory)):
        key = f"{name}/{publish_id}/{relative}"
        with path.open("rb") as handle:
            saved = storage.save(key, File(handle, name=path.name))
        if saved != key:
            raise ArtifactStoreError(f"the store saved {key} as {saved}")
        files[relative] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    marker = {
        "name": name,
        "publish": publish_id,
        "files": files,
        "published_at": timezone.now().isoformat(),
    }
    body = json.dumps(marker, indent=1, sort_keys=True).encode("utf-8")
    storage.save(f"{name}/{MARKER}", ContentFile(body, name=MARKER))
    (Path(directory) / LOCAL_STAMP).write_text(publish_id + "\n", encoding="utf-8")
    _delete_other_publications(name, keep=publish_id)
    logger.info("published %s (%d files) as %s", name, len(files), publish_id)
    return marker


def _delete_other_publications(name: str, keep: str) -> None:
    storage = _storage()
    try:
        prefixes, _files_here = storage.listdir(name)
    except FileNotFoundError:
        return
    for prefix in prefixes:
        if prefix != keep:
            _delete_prefix(f"{name}/{prefix}")


def _delete_prefix(prefix: str) -> None:
    storage = _storage()
    directories, files = storage.listdir(prefix)
    for file_name in files:
        storage.delete(f"{prefix}/{file_name}")
    for directory in directories:
        _delete_prefix(f"{prefix}/{directory}")


def delete(name: str) -> None:
    """Remove a version from the store: the marker first (readers stop seeing it),
    then its files."""
    storage = _storage()
    storage.delete(f"{name}/{MARKER}")
    _delete_prefix(name)


@contextmanager
def _fetch_lock(directory: Path) -> Iterator[None]:
    """One fetch of a version at a time among the processes of this machine."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    lock_path = directory.parent / f".{directory.name}.fetch-lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fetch(name: str, directory: Path) -> bool:
    """Make `directory` the local copy of published version `name`: returns False
    when the version is not published (nothing is written), True once the local
    copy is complete (at once when it already was)."""
    directory = Path(directory)
    with _fetch_lock(directory):
        if directory.is_dir():
            return True
        marker = read_marker(name)
        if marker is None:
            return False
        try:
            _download(name, marker, directory)
        except (FileNotFoundError, ArtifactStoreError):
            # Re-published between reading the marker and the files: read it again.
            marker = read_marker(name)
            if marker is None:
                return False
            _download(name, marker, directory)
    return True


def _download(name: str, marker: dict[str, Any], directory: Path) -> None:
    storage = _storage()
    publish_id = marker["publish"]

    def write(tmp: Path) -> None:
        for relative, expected in marker["files"].items():
            if PurePosixPath(relative).is_absolute() or ".." in PurePosixPath(relative).parts:
                raise ArtifactStoreError(f"{name}: refusing the file name {relative!r}")
            target = tmp / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with (
                storage.open(f"{name}/{publish_id}/{relative}", "rb") as source,
                target.open("wb") as out,
            ):
                shutil.copyfileobj(source, out, _CHUNK)
            if target.stat().st_size != expected["size"] or _sha256(target) != expected["sha256"]:
                raise ArtifactStoreError(
                    f"{name}/{publish_id}/{relative} does not match its marker"
                )
        (tmp / LOCAL_STAMP).write_text(publish_id + "\n", encoding="utf-8")

    write_directory_atomically(directory, write)

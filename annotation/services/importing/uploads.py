"""Where an uploaded catalogue file waits for the worker that imports it.

The one module that touches the upload storage, through Django's storage API: a
directory, TAGGER_UPLOAD_DIR, shared by the web and worker hosts, or the object
store named by TAGGER_UPLOAD_STORAGE_URL (by default MODEL_STORAGE_URL's
"uploads/" when that is set). Stored names are
generated (never the uploader's file name), and a file is deleted once its
import finishes.
"""

from dataclasses import dataclass
from pathlib import PurePath
from typing import IO
from uuid import uuid4

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from annotation.errors import ImportFileError
from annotation.services.importing.limits import size_text

# The names an upload may have (".gz" aside): catalogue files only.
ALLOWED_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")


def accepted_name(name: str) -> bool:
    """Whether an uploaded file's name says it is a catalogue file."""
    lower = name.lower().removesuffix(".gz")
    return PurePath(lower).suffix in ALLOWED_SUFFIXES


@dataclass(frozen=True)
class StoredUpload:
    name: str
    size: int


def _storage() -> Storage:
    # Read each time: the setting may change (tests) and the storage is cheap.
    if settings.TAGGER_UPLOAD_STORAGE_URL:
        # The object store shared by the web and worker hosts (tagger/storage_urls.py).
        return storages["uploads"]
    return FileSystemStorage(
        location=settings.TAGGER_UPLOAD_DIR,
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )


def store(upload: File) -> StoredUpload:
    """Stream `upload` into the upload storage (a chunk at a time: Django's own
    temporary file is moved, not read into memory). ImportFileError when it is
    over TAGGER_MAX_UPLOAD_BYTES."""
    limit = settings.TAGGER_MAX_UPLOAD_BYTES
    if upload.size is None or upload.size > limit:
        raise ImportFileError(
            0, f"the file is {size_text(upload.size or 0)}; the limit is {size_text(limit)}"
        )
    storage = _storage()
    name = storage.save(f"{uuid4().hex}.upload", upload)
    return StoredUpload(name=name, size=storage.size(name))


def open_stored(name: str) -> IO[bytes]:
    """The stored file for reading; FileNotFoundError when it is gone."""
    handle: IO[bytes] = _storage().open(name, "rb")
    return handle


def delete_stored(name: str) -> None:
    """Delete a stored upload (nothing happens when it is gone already)."""
    if name:
        _storage().delete(name)

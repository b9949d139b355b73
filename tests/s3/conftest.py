"""The `s3` tests' server: one SeaweedFS for the session, a fresh bucket per test."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tagger.storage_urls import child_url, s3_storage
from tests.s3 import seaweed

# The session's tiny encoder and the small catalogue the training tests use.
from tests.training.conftest import make_catalogue, taxonomy, tiny_bert  # noqa: F401


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedS3]:
    server = seaweed.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def model_store(s3_server: seaweed.SeaweedS3, settings, tmp_path: Path) -> str:
    """MODEL_STORAGE_URL (and the uploads beside it) in a bucket of its own; MODEL_DIR
    is this test's local read cache. Returns the URL."""
    url = s3_server.url(s3_server.new_bucket(), "tagger")
    settings.MODEL_DIR = tmp_path / "models"
    settings.TAGGER_CACHE_DIR = tmp_path / "cache"
    settings.MODEL_STORAGE_URL = url
    settings.TAGGER_UPLOAD_STORAGE_URL = child_url(url, "uploads")
    storages = dict(settings.STORAGES)
    for alias, store_url in (("models", url), ("uploads", settings.TAGGER_UPLOAD_STORAGE_URL)):
        entry = s3_storage(store_url)
        entry["OPTIONS"].update(access_key=seaweed.ACCESS_KEY, secret_key=seaweed.SECRET_KEY)
        storages[alias] = entry
    settings.STORAGES = storages
    return url

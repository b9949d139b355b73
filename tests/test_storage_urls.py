"""MODEL_STORAGE_URL and friends: parsed strictly, and the default changes nothing."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from tagger.storage_urls import S3_BACKEND, SPOOL_MAX_MEMORY_BYTES, child_url, s3_storage
from tests.test_settings_env import _run

STORAGE_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({"
    "'storages': sorted(settings.STORAGES), 'url': settings.MODEL_STORAGE_URL, "
    "'uploads': settings.TAGGER_UPLOAD_STORAGE_URL, "
    "'embeddings': settings.TAGGER_EMBEDDING_CACHE, "
    "'models': settings.STORAGES.get('models')}))"
)


def test_an_s3_url_names_bucket_prefix_endpoint_and_region() -> None:
    entry = s3_storage("s3://models/tagger/prod?endpoint_url=http://10.0.0.5:8333&region=eu-1")

    assert entry["BACKEND"] == S3_BACKEND
    options = entry["OPTIONS"]
    assert options["bucket_name"] == "models"
    assert options["location"] == "tagger/prod"
    assert options["endpoint_url"] == "http://10.0.0.5:8333"
    assert options["addressing_style"] == "path"
    assert options["region_name"] == "eu-1"
    assert options["file_overwrite"] is True
    # Reads spill to disk: an upload or a model is never held whole in memory.
    assert options["max_memory_size"] == SPOOL_MAX_MEMORY_BYTES


def test_aws_s3_needs_no_endpoint() -> None:
    options = s3_storage("s3://models")["OPTIONS"]

    assert options["location"] == ""
    assert "endpoint_url" not in options
    assert "addressing_style" not in options


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/var/models", "must look like s3://"),
        ("gs://bucket/models", "must look like s3://"),
        ("s3:///models", "must look like s3://"),
        ("s3://bucket/models?endpoint=http://x", "unknown parameter"),
    ],
)
def test_anything_else_is_refused(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        s3_storage(url)


def test_child_url_keeps_the_query() -> None:
    assert child_url("s3://b/p?region=x", "uploads") == "s3://b/p/uploads?region=x"
    assert child_url("s3://b", "uploads") == "s3://b/uploads"


def test_without_a_storage_url_everything_stays_local(tmp_path) -> None:
    env = {"TAGGER_VAR_DIR": str(tmp_path), "TAGGER_DEMO": "true", "MODEL_STORAGE_URL": ""}
    result = _run(STORAGE_SETTINGS, env)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["storages"] == ["default", "staticfiles"]
    assert seen["uploads"] == ""
    assert seen["embeddings"] == "file"


def test_a_storage_url_shares_versions_uploads_and_embeddings(tmp_path) -> None:
    url = "s3://tagger/models?endpoint_url=http://127.0.0.1:9&region=us-east-1"
    env = {"TAGGER_VAR_DIR": str(tmp_path), "TAGGER_DEMO": "true", "MODEL_STORAGE_URL": url}
    result = _run(STORAGE_SETTINGS, env)

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["storages"] == ["default", "models", "staticfiles", "uploads"]
    assert seen["uploads"] == child_url(url, "uploads")
    assert seen["embeddings"] == "database"
    assert seen["models"]["OPTIONS"]["location"] == "models"


def test_an_unknown_embedding_cache_is_refused(tmp_path) -> None:
    env = {
        "TAGGER_VAR_DIR": str(tmp_path),
        "TAGGER_DEMO": "true",
        "TAGGER_EMBEDDING_CACHE": "redis",
    }
    result = _run("import django; django.setup()", env)

    assert result.returncode != 0
    assert "TAGGER_EMBEDDING_CACHE must be file or database" in result.stderr

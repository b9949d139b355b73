"""Object-storage URLs from the environment, turned into Django STORAGES entries.

MODEL_STORAGE_URL (and TAGGER_UPLOAD_STORAGE_URL) name where model artifacts and
uploaded catalogue files live when workers run on several machines:

    s3://BUCKET[/PREFIX][?endpoint_url=http://host:port&region=REGION]

served by django-storages' S3 backend (boto3). Credentials come from boto3's
usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance
role); the endpoint from the URL or from AWS_ENDPOINT_URL, for S3-compatible
servers (SeaweedFS, MinIO, Ceph). An empty URL means "no object store": the
local directories (MODEL_DIR, TAGGER_UPLOAD_DIR) as before.
"""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
_QUERY_KEYS = {"endpoint_url", "region", "addressing_style"}
SPOOL_MAX_MEMORY_BYTES = 8 * 1024 * 1024


def s3_storage(url: str, setting: str = "MODEL_STORAGE_URL") -> dict[str, Any]:
    """The STORAGES entry for an s3:// URL; ImproperlyConfigured for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"{setting} must look like s3://bucket/prefix, got {url!r} "
            "(leave it empty for the local directory)"
        )
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - _QUERY_KEYS
    if unknown:
        raise ImproperlyConfigured(f"{setting}: unknown parameter(s) {', '.join(sorted(unknown))}")
    options: dict[str, Any] = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        # Versions and markers are replaced in place under their own names.
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": False,
        # A file read from the store is spooled into a temporary file past this
        # (django-storages' default, 0, keeps a whole upload or model in memory).
        "max_memory_size": SPOOL_MAX_MEMORY_BYTES,
    }
    if query.get("endpoint_url"):
        options["endpoint_url"] = query["endpoint_url"]
        options["addressing_style"] = query.get("addressing_style", "path")
    elif query.get("addressing_style"):
        options["addressing_style"] = query["addressing_style"]
    if query.get("region"):
        options["region_name"] = query["region"]
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def child_url(url: str, name: str) -> str:
    """`url` with `name` appended to its path (query kept): s3://b/p -> s3://b/p/name."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + name
    return parts._replace(path=path).geturl()

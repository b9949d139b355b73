"""The Tagger API over HTTP, with the standard library only.

Each method is named after the OpenAPI operation it calls (`ENDPOINTS` maps the
names to methods and paths; the server's tests check that table against the
schema it serves)."""

from __future__ import annotations

import json
import mimetypes
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urljoin
from urllib.request import Request, urlopen

from tagger_client.models import (
    Claim,
    ExportRecord,
    Facet,
    ImportBatch,
    ModelVersion,
    Product,
    Tag,
    TrainingRun,
)

# operation id -> (HTTP method, path template), as in the server's OpenAPI schema.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "export_tags": ("GET", "/api/v1/export/"),
    "list_products": ("GET", "/api/v1/products/"),
    "create_product": ("POST", "/api/v1/products/"),
    "upsert_products": ("POST", "/api/v1/products/bulk/"),
    "get_product": ("GET", "/api/v1/products/{external_id}/"),
    "update_product": ("PATCH", "/api/v1/products/{external_id}/"),
    "list_product_suggestions": ("GET", "/api/v1/products/{external_id}/suggestions/"),
    "start_import": ("POST", "/api/v1/imports/"),
    "get_import": ("GET", "/api/v1/imports/{id}/"),
    "import_predictions": ("POST", "/api/v1/predictions/"),
    "list_facets": ("GET", "/api/v1/facets/"),
    "create_facet": ("POST", "/api/v1/facets/"),
    "list_tags": ("GET", "/api/v1/tags/"),
    "create_tag": ("POST", "/api/v1/tags/"),
    "claim_next_product": ("POST", "/api/v1/review/next/"),
    "review_product": ("POST", "/api/v1/products/{external_id}/review/"),
    "skip_product": ("POST", "/api/v1/review/{external_id}/skip/"),
    "undo_review": ("POST", "/api/v1/review/undo/"),
    "list_training_runs": ("GET", "/api/v1/training/runs/"),
    "start_training_run": ("POST", "/api/v1/training/runs/"),
    "get_training_run": ("GET", "/api/v1/training/runs/{id}/"),
    "list_model_versions": ("GET", "/api/v1/training/versions/"),
    "promote_model_version": ("POST", "/api/v1/training/versions/{id}/promote/"),
}


class ApiError(Exception):
    """A 4xx or 5xx answer: `status` and the decoded body (`detail` or field errors)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        detail = body.get("detail") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {detail or body}")


class Client:
    """A Tagger server and an API token (`tgr_...`; export scope for the export,
    admin scope for the rest)."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout

    # -- transport ----------------------------------------------------------------------

    def _path(self, operation: str, **params: Any) -> tuple[str, str]:
        method, template = ENDPOINTS[operation]
        path = template.format(**{k: quote(str(v), safe="/") for k, v in params.items()})
        return method, path

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        response = self._open(
            method, path_or_url, query=query, body=body, data=data, content_type=content_type
        )
        with response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def _open(
        self,
        method: str,
        path_or_url: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        url = urljoin(self.url, path_or_url)
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = Request(url, data=data, method=method, headers=headers)
        try:
            return urlopen(request, timeout=self.timeout)
        except HTTPError as exc:
            raw = exc.read()
            try:
                decoded: Any = json.loads(raw)
            except ValueError:
                decoded = raw.decode("utf-8", "replace")
            raise ApiError(exc.code, decoded) from None

    def _call(
        self, operation: str, path_params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        method, path = self._path(operation, **(path_params or {}))
        return self._request(method, path, **kwargs)

    def _pages(
        self, operation: str, query: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of a paginated list, following the `next` links."""
        method, path = self._path(operation)
        page = self._request(method, path, query=query)
        while True:
            yield from page["results"]
            if not page["next"]:
                return
            page = self._request(method, page["next"])

    # -- export -------------------------------------------------------------------------

    def export_tags(
        self,
        *,
        updated_since: datetime | str | None = None,
        tag: str | None = None,
        facet: str | None = None,
        product_ids: Iterable[str] | None = None,
        category: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[ExportRecord]:
        """Every product whose tags changed after `updated_since` (all with None), in
        change order, page after page. Keep the last record's `changed_at` and pass
        it next time: that is the incremental sync."""
        query: dict[str, Any] = {
            "format": "json",
            "updated_since": updated_since.isoformat()
            if isinstance(updated_since, datetime)
            else updated_since,
            "tag": tag,
            "facet": facet,
            "product_ids": ",".join(product_ids) if product_ids is not None else None,
            "category": category,
            "page_size": page_size,
        }
        method, path = self._path("export_tags")
        while True:
            page = self._request(method, path, query=query)
            for record in page["results"]:
                yield ExportRecord.from_json(record)
            if not page["next_cursor"]:
                return
            query["cursor"] = page["next_cursor"]

    def export_stream(self, export_format: str, **filters: Any) -> Iterator[bytes]:
        """The export in a streamed format (jsonl, csv, labelstudio, hf), in chunks."""
        method, path = self._path("export_tags")
        query = {"format": export_format, **filters}
        with self._open(method, path, query=query) as response:
            while chunk := response.read(64 * 1024):
                yield chunk

    # -- products -----------------------------------------------------------------------

    def list_products(self, **filters: Any) -> Iterator[Product]:
        for row in self._pages("list_products", filters):
            yield Product.from_json(row)

    def get_product(self, external_id: str) -> Product:
        return Product.from_json(self._call("get_product", {"external_id": external_id}))

    def create_product(self, external_id: str, title: str, **fields: Any) -> Product:
        body = {"id": external_id, "title": title, **fields}
        return Product.from_json(self._call("create_product", body=body))

    def update_product(self, external_id: str, **changes: Any) -> Product:
        return Product.from_json(
            self._call("update_product", {"external_id": external_id}, body=changes)
        )

    def upsert_products(
        self, products: list[dict[str, Any]], *, keep_valid: bool = False
    ) -> dict[str, Any]:
        """Create or update products by id, all or nothing unless keep_valid. A
        rejected row raises ApiError 400 whose body is the outcome."""
        result: dict[str, Any] = self._call(
            "upsert_products", body={"products": products, "keep_valid": keep_valid}
        )
        return result

    def list_product_suggestions(
        self, external_id: str, *, model_version: int | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "list_product_suggestions",
            {"external_id": external_id},
            query={"model_version": model_version},
        )
        return result

    # -- imports ------------------------------------------------------------------------

    def start_import(self, path: str | Path, *, keep_valid: bool = False) -> ImportBatch:
        """Upload a catalogue file (CSV, JSONL or JSON, gzipped or not); the server
        imports it in the background: poll get_import."""
        file = Path(path)
        boundary = uuid.uuid4().hex
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="keep_valid"\r\n\r\n'
            f"{'true' if keep_valid else 'false'}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file.name}"\r\nContent-Type: {kind}\r\n\r\n'.encode(),
            file.read_bytes(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        method, url = self._path("start_import")
        data = self._request(
            method,
            url,
            data=b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        return ImportBatch.from_json(data)

    def get_import(self, batch_id: int) -> ImportBatch:
        return ImportBatch.from_json(self._call("get_import", {"id": batch_id}))

    def import_predictions(
        self,
        model_version: str,
        predictions: Iterable[Mapping[str, Any]],
        *,
        threshold: float = 0.5,
    ) -> dict[str, Any]:
        """Outside predictions ({"product", "tag", "score"}) as suggestions of the
        external model version called `model_version`; rejected rows come back
        with their index in `errors`."""
        body = {
            "model_version": model_version,
            "predictions": [dict(p) for p in predictions],
            "threshold": threshold,
        }
        result: dict[str, Any] = self._call("import_predictions", body=body)
        return result

    # -- taxonomy -----------------------------------------------------------------------

    def list_facets(self) -> Iterator[Facet]:
        for row in self._pages("list_facets"):
            yield Facet.from_json(row)

    def create_facet(self, name: str, **fields: Any) -> Facet:
        return Facet.from_json(self._call("create_facet", body={"name": name, **fields}))

    def list_tags(self, **filters: Any) -> Iterator[Tag]:
        for row in self._pages("list_tags", filters):
            yield Tag.from_json(row)

    def create_tag(self, facet: str, name: str, **fields: Any) -> Tag:
        body = {"facet": facet, "name": name, **fields}
        return Tag.from_json(self._call("create_tag", body=body))

    # -- review -------------------------------------------------------------------------

    def claim_next_product(self) -> Claim | None:
        """The next product to review, leased to the token's user; None when the
        queue is empty."""
        data = self._call("claim_next_product", body={})
        return Claim.from_json(data) if data else None

    def review_product(
        self, external_id: str, decisions: Mapping[str, bool], *, note: str = ""
    ) -> dict[str, Any]:
        """Approve (True) or reject (False) tags by key ("facet:value")."""
        body = {
            "decisions": [{"tag": key, "approved": ok} for key, ok in decisions.items()],
            "note": note,
        }
        result: dict[str, Any] = self._call(
            "review_product", {"external_id": external_id}, body=body
        )
        return result

    def skip_product(self, external_id: str) -> None:
        self._call("skip_product", {"external_id": external_id}, body={})

    def undo_review(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("undo_review", body={})
        return result

    # -- training -----------------------------------------------------------------------

    def start_training_run(self, mode: str = "") -> TrainingRun:
        return TrainingRun.from_json(self._call("start_training_run", body={"mode": mode}))

    def get_training_run(self, run_id: int) -> TrainingRun:
        return TrainingRun.from_json(self._call("get_training_run", {"id": run_id}))

    def list_training_runs(self) -> Iterator[TrainingRun]:
        for row in self._pages("list_training_runs"):
            yield TrainingRun.from_json(row)

    def list_model_versions(self) -> Iterator[ModelVersion]:
        for row in self._pages("list_model_versions"):
            yield ModelVersion.from_json(row)

    def promote_model_version(self, version_id: int) -> ModelVersion:
        return ModelVersion.from_json(self._call("promote_model_version", {"id": version_id}))

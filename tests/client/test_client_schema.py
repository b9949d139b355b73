"""The client checked against the OpenAPI schema the server serves: each call
names a real operation, with its method and path."""

import json
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from tagger_client import ENDPOINTS, Client


def _operations() -> dict[str, tuple[str, str]]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_every_client_call_is_an_operation_of_the_schema() -> None:
    operations = _operations()

    mismatched = {
        name: (endpoint, operations.get(name))
        for name, endpoint in ENDPOINTS.items()
        if operations.get(name) != endpoint
    }

    assert mismatched == {}


def test_every_endpoint_has_its_method_on_the_client() -> None:
    assert [name for name in ENDPOINTS if not callable(getattr(Client, name, None))] == []


def test_the_client_covers_export_products_taxonomy_review_and_training() -> None:
    covered = set(ENDPOINTS)

    assert {
        "export_tags",
        "list_products",
        "get_product",
        "list_tags",
        "claim_next_product",
        "review_product",
        "start_training_run",
        "get_training_run",
    } <= covered

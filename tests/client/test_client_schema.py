"""The client checked against the OpenAPI schema the server serves: each call
names a real operation, with its method and path."""

import dataclasses
import json
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from tagger_client import ENDPOINTS, Client, models


def _schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    schema: dict[str, Any] = json.loads(OpenApiJsonRenderer().render(generated))
    return schema


def _operations() -> dict[str, tuple[str, str]]:
    schema = _schema()
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


# Fields the schema leaves optional, which the client reads with the server's default.
OPTIONAL = {("Facet", "multi_valued")}


def test_every_typed_field_is_a_required_property_of_its_component() -> None:
    """The client's records read fields the schema promises: each dataclass is
    the component of the same name, and every field it reads is required there."""
    components = _schema()["components"]["schemas"]
    records = [
        cls
        for cls in vars(models).values()
        if isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and cls.__module__ == models.__name__
    ]

    unpromised = {
        cls.__name__: sorted(
            f.name
            for f in dataclasses.fields(cls)
            if f.name != "raw"
            and (cls.__name__, f.name) not in OPTIONAL
            and f.name not in components[cls.__name__].get("required", [])
        )
        for cls in records
    }

    assert len(records) >= 8
    assert {name: fields for name, fields in unpromised.items() if fields} == {}


def test_the_client_pages_by_the_fields_every_list_page_promises() -> None:
    """Client._pages follows `next` and reads `results`, never `count`, which a
    cursor page (the default) does not carry: only a ?page= page counts. (The
    live tests page through lists with it.)"""
    components = _schema()["components"]["schemas"]
    pages = {name: c for name, c in components.items() if name.startswith("Paginated")}

    assert len(pages) >= 8
    assert {
        name: sorted(page["required"])
        for name, page in pages.items()
        if sorted(page["required"]) != ["next", "previous", "results"]
    } == {}

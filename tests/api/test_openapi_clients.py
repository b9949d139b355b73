"""What the OpenAPI schema gives generated clients: a tag per resource, readable
operation ids, separate request and response components, an example for every
request and response (each valid against its schema), and the webhooks."""

import json
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from annotation.api.webhook_docs import PAYLOADS
from annotation.models import WebhookEvent
from tagger import openapi


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def _validator(
    schema: dict[str, Any], body_schema: dict[str, Any]
) -> jsonschema.Draft202012Validator:
    document = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource("urn:tagger", document)
    rebased = json.loads(
        json.dumps(body_schema).replace('"#/components', '"urn:tagger#/components')
    )
    return jsonschema.Draft202012Validator(rebased, registry=registry)


def test_every_operation_has_a_resource_tag_and_a_readable_id(schema: dict[str, Any]) -> None:
    operations = _operations(schema)
    ids = [operation["operationId"] for _, _, operation in operations]
    known_tags = {tag["name"] for tag in schema["tags"]}

    assert len(ids) == len(set(ids))
    assert not [i for i in ids if i.startswith("v1_")]
    assert {operation["tags"][0] for _, _, operation in operations} <= known_tags
    assert len({operation["tags"][0] for _, _, operation in operations}) >= 10
    # Every row of the table names a real operation: none is left stale.
    assert {(method, path) for method, path, _ in operations} == set(openapi.OPERATIONS)


def test_an_operation_without_a_name_fails_the_schema() -> None:
    result = {"paths": {"/api/v1/new/": {"get": {"operationId": "v1_new_list"}}}}

    with pytest.raises(KeyError, match="/api/v1/new/"):
        openapi.postprocess(result, generator=None)


def test_request_and_response_components_are_split(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    assert "ProductCreateRequest" in components
    assert "Product" in components
    # A read-only field stays out of the request component.
    assert "created_at" in components["Webhook"]["properties"]
    assert "created_at" not in components["WebhookWriteRequest"]["properties"]


def test_every_request_and_response_has_a_valid_example(schema: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in _operations(schema):
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += list(operation["responses"].items())
        for code, body in bodies:
            for media_type, media in body.get("content", {}).items():
                where = (method, path, code, media_type)
                assert "example" in media, where
                if media_type.startswith(("text/", "application/x-ndjson", "application/xml")):
                    assert isinstance(media["example"], str), where
                    continue
                if media_type.startswith("multipart/"):
                    continue  # the file is text here, binary in the schema
                errors = list(_validator(schema, media["schema"]).iter_errors(media["example"]))
                assert errors == [], (where, errors[0].message if errors else "")
                checked += 1
    assert checked > 100


def test_an_invalid_example_would_be_caught(schema: dict[str, Any]) -> None:
    product = {"$ref": "#/components/schemas/Product"}
    broken = {**openapi.component_example("Product", {}), "tags": "color:red"}

    assert list(_validator(schema, product).iter_errors(broken))


def test_the_webhooks_section_documents_every_event(schema: dict[str, Any]) -> None:
    webhooks = schema["webhooks"]

    assert set(webhooks) == set(WebhookEvent.values) == set(PAYLOADS)
    for event, item in webhooks.items():
        media = item["post"]["requestBody"]["content"]["application/json"]
        example = media["example"]
        assert example["event"] == event
        errors = list(_validator(schema, media["schema"]).iter_errors(example))
        assert errors == [], (event, errors)

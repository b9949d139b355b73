"""What the generated OpenAPI schema adds for clients (a drf-spectacular
postprocessing hook): a tag per resource, readable operation ids, and an example
for every request and response.

The names are a table, not derived from the paths: a new operation without a row
here fails schema generation (and so `tests/api/test_docs.py`), so every
operation keeps a name a generated client can use. The examples are one per
component (tagger/openapi_examples.py); a paginated list's example is its item's,
wrapped in a page; errors share one example per status code."""

from typing import Any

from annotation.api.webhook_docs import EXAMPLES as WEBHOOK_EXAMPLES
from tagger.openapi_examples import COMPONENT_EXAMPLES, ERROR_EXAMPLES, MEDIA_EXAMPLES

TAGS = [
    {"name": "export", "description": "Approved tags with provenance, for incremental sync"},
    {"name": "products", "description": "The catalogue, one product at a time or in bulk"},
    {"name": "imports", "description": "Catalogue files imported in the background"},
    {"name": "predictions", "description": "Outside predictions imported as suggestions"},
    {"name": "review", "description": "The review queue: claim, decide, skip, undo"},
    {"name": "facets", "description": "The taxonomy's facets (tag groups)"},
    {"name": "tags", "description": "The taxonomy's tags and their lifecycle"},
    {"name": "training runs", "description": "Training the model"},
    {"name": "model versions", "description": "Trained models: promotion and rollback"},
    {"name": "tokens", "description": "API tokens (admins)"},
    {"name": "webhooks", "description": "Webhooks and their delivery log (admins)"},
]

# (method, path) -> (tag, operation id)
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("get", "/api/v1/export/"): ("export", "export_tags"),
    ("get", "/api/v1/products/"): ("products", "list_products"),
    ("post", "/api/v1/products/"): ("products", "create_product"),
    ("post", "/api/v1/products/bulk/"): ("products", "upsert_products"),
    ("get", "/api/v1/products/{external_id}/"): ("products", "get_product"),
    ("patch", "/api/v1/products/{external_id}/"): ("products", "update_product"),
    ("get", "/api/v1/products/{external_id}/suggestions/"): (
        "products",
        "list_product_suggestions",
    ),
    ("post", "/api/v1/products/{external_id}/review/"): ("review", "review_product"),
    ("get", "/api/v1/imports/"): ("imports", "list_imports"),
    ("post", "/api/v1/imports/"): ("imports", "start_import"),
    ("get", "/api/v1/imports/{id}/"): ("imports", "get_import"),
    ("post", "/api/v1/predictions/"): ("predictions", "import_predictions"),
    ("post", "/api/v1/review/next/"): ("review", "claim_next_product"),
    ("post", "/api/v1/review/undo/"): ("review", "undo_review"),
    ("post", "/api/v1/review/{external_id}/skip/"): ("review", "skip_product"),
    ("get", "/api/v1/facets/"): ("facets", "list_facets"),
    ("post", "/api/v1/facets/"): ("facets", "create_facet"),
    ("get", "/api/v1/facets/{id}/"): ("facets", "get_facet"),
    ("patch", "/api/v1/facets/{id}/"): ("facets", "update_facet"),
    ("get", "/api/v1/tags/"): ("tags", "list_tags"),
    ("post", "/api/v1/tags/"): ("tags", "create_tag"),
    ("get", "/api/v1/tags/{id}/"): ("tags", "get_tag"),
    ("patch", "/api/v1/tags/{id}/"): ("tags", "update_tag"),
    ("post", "/api/v1/tags/{id}/merge/"): ("tags", "merge_tag"),
    ("post", "/api/v1/tags/{id}/unmerge/"): ("tags", "unmerge_tag"),
    ("post", "/api/v1/tags/{id}/deprecate/"): ("tags", "deprecate_tag"),
    ("get", "/api/v1/tokens/"): ("tokens", "list_tokens"),
    ("post", "/api/v1/tokens/"): ("tokens", "create_token"),
    ("get", "/api/v1/tokens/{id}/"): ("tokens", "get_token"),
    ("delete", "/api/v1/tokens/{id}/"): ("tokens", "delete_token"),
    ("post", "/api/v1/tokens/{id}/revoke/"): ("tokens", "revoke_token"),
    ("get", "/api/v1/webhooks/"): ("webhooks", "list_webhooks"),
    ("post", "/api/v1/webhooks/"): ("webhooks", "create_webhook"),
    ("get", "/api/v1/webhooks/{id}/"): ("webhooks", "get_webhook"),
    ("patch", "/api/v1/webhooks/{id}/"): ("webhooks", "update_webhook"),
    ("delete", "/api/v1/webhooks/{id}/"): ("webhooks", "delete_webhook"),
    ("get", "/api/v1/webhooks/{id}/deliveries/"): ("webhooks", "list_webhook_deliveries"),
    ("get", "/api/v1/training/runs/"): ("training runs", "list_training_runs"),
    ("post", "/api/v1/training/runs/"): ("training runs", "start_training_run"),
    ("get", "/api/v1/training/runs/{id}/"): ("training runs", "get_training_run"),
    ("post", "/api/v1/training/runs/{id}/cancel/"): ("training runs", "cancel_training_run"),
    ("get", "/api/v1/training/versions/"): ("model versions", "list_model_versions"),
    ("get", "/api/v1/training/versions/{id}/"): ("model versions", "get_model_version"),
    ("post", "/api/v1/training/versions/{id}/promote/"): (
        "model versions",
        "promote_model_version",
    ),
    ("post", "/api/v1/training/versions/{id}/rollback/"): (
        "model versions",
        "rollback_to_model_version",
    ),
}

_REF = "#/components/schemas/"


def _component(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref[len(_REF) :] if ref.startswith(_REF) else None


def component_example(name: str, components: dict[str, Any]) -> Any:
    """The example of a component: its own, or for a page of a list
    (`Paginated<Item>List`) one page holding the item's example."""
    if name in COMPONENT_EXAMPLES:
        return COMPONENT_EXAMPLES[name]
    if name.startswith("Paginated") and name.endswith("List"):
        item = component_example(name[len("Paginated") : -len("List")], components)
        return {
            "next": "https://tagger.example.com/api/v1/resource/?cursor=cD0xMjM%3D",
            "previous": None,
            "results": [item],
        }
    raise KeyError(f"no OpenAPI example for the component {name}: add one to openapi_examples")


def _media_example(
    operation_id: str, code: str, media_type: str, schema: dict[str, Any], components: dict
) -> Any:
    for key in ((operation_id, f"{code}:{media_type}"), (operation_id, code)):
        if key in MEDIA_EXAMPLES:
            return MEDIA_EXAMPLES[key]
    name = _component(schema)
    if name is not None:
        return component_example(name, components)
    if code in ERROR_EXAMPLES:
        return ERROR_EXAMPLES[code]
    raise KeyError(
        f"no OpenAPI example for {operation_id} {code} {media_type}: add one to openapi_examples"
    )


def _add_examples(operation: dict[str, Any], components: dict[str, Any]) -> None:
    operation_id = operation["operationId"]
    bodies = [("request", operation.get("requestBody", {}))]
    bodies += list(operation.get("responses", {}).items())
    for code, body in bodies:
        for media_type, media in body.get("content", {}).items():
            if "example" not in media and "examples" not in media:
                media["example"] = _media_example(
                    operation_id, code, media_type, media.get("schema", {}), components
                )


def postprocess(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Name, tag and exemplify every operation (SPECTACULAR_SETTINGS hook)."""
    components = result.get("components", {}).get("schemas", {})
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            try:
                tag, operation_id = OPERATIONS[(method, path)]
            except KeyError:
                raise KeyError(
                    f"{method.upper()} {path} has no tag and operation id in tagger/openapi.py"
                ) from None
            operation["tags"] = [tag]
            operation["operationId"] = operation_id
            _add_examples(operation, components)
    for event, item in result.get("webhooks", {}).items():
        item["post"]["requestBody"]["content"]["application/json"]["example"] = WEBHOOK_EXAMPLES[
            event
        ]
    result["tags"] = TAGS
    return result

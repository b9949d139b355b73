"""Property-based requests against every operation of the OpenAPI schema, as an
admin, in-process: no server errors, and every response matches the schema
(status code, content type, headers, body).

Bounded (10 valid and 10 invalid examples per operation) and derandomized, so a
CI run is repeatable and takes a minute or two. Hypothesis is driven directly
rather than through schemathesis' pytest plugin, which does not support the
installed pytest yet."""

import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation.models import ApiToken, Webhook
from annotation.services.tokens import create_token
from tests.api.conftest import World
from training.models import TrainingRun

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=10,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


def _load_schema() -> Any:
    """The schema /api/schema/ serves, with the WSGI app to call."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(generated))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    return schema


SCHEMA = _load_schema()
OPERATIONS = sorted(result.ok().label for result in SCHEMA.get_all_operations())


@pytest.fixture
def wsgi_requests() -> Iterator[None]:
    """Requests go straight to the WSGI app, not through Django's test client, so
    do what the test client does: keep the test's database connection (and its
    transaction) open across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        # The WSGI client sends Host: localhost.
        with override_settings(ALLOWED_HOSTS=["localhost", "testserver"]):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_key(admin_user: Any) -> str:
    return create_token(
        user=admin_user, name="schemathesis", scope=ApiToken.Scope.ADMIN, created_by=None
    )[1]


@pytest.fixture
def known_ids(world: World, admin_user: Any) -> dict[str, Any]:
    """Path parameters that name existing rows, so requests reach the services
    instead of stopping at a 404."""
    token, _ = create_token(user=admin_user, name="spare", scope="export", created_by=None)
    return {
        "products": {"external_id": "sku-1"},
        "review": {"external_id": "sku-2"},
        "facets": {"id": world.color.pk},
        "tags": {"id": world.tag("fuzzed").pk},
        "runs": {"id": TrainingRun.objects.create(mode="head", in_flight=None).pk},
        "versions": {"id": world.version.pk},
        "tokens": {"id": token.pk},
        "webhooks": {"id": Webhook.objects.create(url="http://127.0.0.1:9/h", secret="s" * 32).pk},
    }


def _path_parameters(path: str, known: dict[str, Any]) -> dict[str, Any] | None:
    if "{" not in path:
        return None
    for part in reversed(path.split("{")[0].strip("/").split("/")):
        if part in known:
            return known[part]
    raise AssertionError(f"no known path parameters for {path}")


@pytest.mark.usefixtures("wsgi_requests")
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_honours_the_schema(
    label: str, admin_key: str, known_ids: dict[str, Any]
) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    path_parameters = _path_parameters(operation.path, known_ids)
    headers = {"Authorization": f"Bearer {admin_key}"}

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(mode, path_parameters=path_parameters)

        @SETTINGS
        @hypothesis.given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()

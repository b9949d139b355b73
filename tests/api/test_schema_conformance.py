"""Property-based requests against every operation of the OpenAPI schema, as
each kind of caller (an admin token, a merchandiser's session, an API client's
export token, anonymous), in-process: no server errors, and every response
matches the schema (status code, content type, headers, body). A sweep of every
path with every HTTP method, as each caller, adds the methods the schema does
not declare (405, never a 5xx).

Bounded and derandomized, so a CI run is repeatable: per operation 20 valid and
20 invalid examples as an admin (the caller who reaches every service), 5 and 5
as the others (who mostly meet a 403). TAGGER_SCHEMA_EXAMPLES sets the admin's
number for a deeper run. Hypothesis is driven directly rather than through
schemathesis' pytest plugin, which does not support the installed pytest yet."""

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings
from django.utils.crypto import get_random_string
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

from annotation import roles
from annotation.models import ApiToken
from annotation.services.tokens import create_token
from tests.api.conftest import World
from tests.factories import ImportBatchFactory, TrainingRunFactory, WebhookFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation and generation mode, for each kind of caller.
EXAMPLES = {
    "admin": int(os.environ.get("TAGGER_SCHEMA_EXAMPLES", "20")),
    "merchandiser": 5,
    "api_client": 5,
    "anonymous": 5,
}
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


def _session_headers(user: User) -> dict[str, str]:
    """A browser session's cookie and CSRF header: the caller the pages are."""
    client = Client()
    client.force_login(user)
    csrf = get_random_string(32)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }


@pytest.fixture
def caller_headers(
    admin_key: str, make_user: Callable[..., User]
) -> Callable[[str], dict[str, str]]:
    """The headers a request sends as a kind of caller (a key of EXAMPLES)."""

    def headers(role: str) -> dict[str, str]:
        if role == "admin":
            return {"Authorization": f"Bearer {admin_key}"}
        if role == "merchandiser":
            return _session_headers(make_user("mia-fuzz", roles.MERCHANDISER))
        if role == "api_client":
            bot = make_user("bot-fuzz", roles.API_CLIENT)
            key = create_token(user=bot, name="fuzz", scope="export", created_by=None)[1]
            return {"Authorization": f"Bearer {key}"}
        return {}

    return headers


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
        "runs": {"id": TrainingRunFactory(mode="head", in_flight=None).pk},
        "versions": {"id": world.version.pk},
        "tokens": {"id": token.pk},
        "webhooks": {"id": WebhookFactory(url="http://127.0.0.1:9/h", secret="s" * 32).pk},
        "imports": {"id": ImportBatchFactory().pk},
    }


def _path_parameters(path: str, known: dict[str, Any]) -> dict[str, Any] | None:
    if "{" not in path:
        return None
    for part in reversed(path.split("{")[0].strip("/").split("/")):
        if part in known:
            return known[part]
    raise AssertionError(f"no known path parameters for {path}")


@pytest.mark.usefixtures("wsgi_requests")
@pytest.mark.parametrize("role", list(EXAMPLES))
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_honours_the_schema(
    label: str,
    role: str,
    caller_headers: Callable[[str], dict[str, str]],
    known_ids: dict[str, Any],
) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    path_parameters = _path_parameters(operation.path, known_ids)
    headers = caller_headers(role)

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(mode, path_parameters=path_parameters)

        @hypothesis.settings(SETTINGS, max_examples=EXAMPLES[role])
        @hypothesis.given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
DECLARED = {
    (operation.path, operation.method.lower())
    for operation in (SCHEMA.find_operation_by_label(label) for label in OPERATIONS)
}
PATHS = sorted({path for path, _ in DECLARED})


@pytest.mark.parametrize("role", list(EXAMPLES))
def test_every_method_on_every_path_answers_without_a_server_error(
    role: str,
    caller_headers: Callable[[str], dict[str, str]],
    known_ids: dict[str, Any],
) -> None:
    """Declared or not: a method the schema does not list for a path is a 405 (or
    the caller's 401/403 first), with a JSON body, never a 5xx. Bodies are empty
    JSON objects: the property-based test above varies them."""
    client = Client(raise_request_exception=False, headers=caller_headers(role))
    answered = {}
    for path in PATHS:
        concrete = path.format(**(_path_parameters(path, known_ids) or {}))
        for method in METHODS:
            response = getattr(client, method)(concrete, {}, content_type="application/json")
            answered[(method, concrete)] = response.status_code
            if (path, method) not in DECLARED and method not in ("head", "options"):
                # 404: products/bulk/ also reads and changes the product called "bulk"
                assert response.status_code in (401, 403, 404, 405), (method, concrete)
            if response.status_code >= 400 and method != "head":
                assert response["Content-Type"].startswith("application/json"), (method, concrete)

    assert {key: code for key, code in answered.items() if code >= 500} == {}

"""Bad input from a careless or hostile client never answers 5xx: impossible
dates, JSON nested thousands deep, NUL and control characters in a path or a
query, forged pagination cursors and non-ASCII digits get a 400 or a 404
(with a JSON body on API routes). Runs on SQLite and on PostgreSQL, which
refuses NUL in text and has range limits SQLite lacks."""

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from annotation import roles
from annotation.models import ApiToken, Product
from annotation.services.tokens import create_token
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
    TrainingRunFactory,
    UserFactory,
)
from training.models import ModelVersion

IMPOSSIBLE_DATES = [
    "2026-02-30T00:00:00Z",  # no 30 February
    "2026-13-01T00:00:00Z",  # no month 13
    "0000-01-01T00:00:00Z",  # no year 0
    "2026-01-01T00:00:00+99:00",  # no such offset
    "2026-01-01T25:00:00Z",  # no hour 25
    "9999-12-31T23:00:00-14:00",  # past year 9999 once in UTC
    "0001-01-01T00:00:00+14:00",  # before year 1 once in UTC
]
# Deeper than Python's recursion limit: json.loads itself gives up.
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
# Within the recursion limit, yet far deeper than any real document.
DEEP_OBJECT = '{"a":' * 500 + "1" + "}" * 500
CONTROL = ["\x00", "\x01", "\x1b", "\x7f"]
NON_ASCII_DIGITS = ["²", "٣", "\uff11", "⑦"]  # superscript, Arabic-Indic, fullwidth, circled


@dataclass
class Site:
    admin: Client  # session of an admin
    token: Client  # an admin-scoped token
    product: Product
    tag_id: int


def _client(**headers: str) -> Client:
    # A 500 must show as a 500 here, not as the view's exception.
    return Client(raise_request_exception=False, **headers)


@pytest.fixture
def site(db: None) -> Iterator[Site]:
    cache.clear()
    admin = UserFactory(username="root", role=roles.ADMIN, is_staff=True)
    color = TagGroupFactory(name="color")
    red = TagFactory(group=color, name="red")
    version = ModelVersionFactory(status=ModelVersion.Status.ACTIVE)
    product = ProductFactory(external_id="sku-1", queued=True)
    ProductTagFactory(product=product, tag=red)
    SuggestionFactory(product=product, tag=red, model_version=version, score=0.9)
    TrainingRunFactory()
    session = _client()
    session.force_login(admin)
    _, key = create_token(user=admin, name="t", scope=ApiToken.Scope.ADMIN, created_by=None)
    yield Site(session, _client(HTTP_AUTHORIZATION=f"Bearer {key}"), product, red.pk)
    cache.clear()


def assert_refused(response, *, api: bool = True) -> None:  # type: ignore[no-untyped-def]  # a test client response
    assert response.status_code in (400, 404), (response.status_code, response.content[:300])
    if api:
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        body = response.json()
        assert isinstance(body, dict), body
        assert body, "an error body says what was wrong"


def assert_no_5xx(response) -> None:  # type: ignore[no-untyped-def]  # a test client response
    assert response.status_code < 500, (response.status_code, response.content[:300])


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", IMPOSSIBLE_DATES)
def test_an_impossible_updated_since_is_a_400_on_the_export(site: Site, stamp: str) -> None:
    response = site.token.get("/api/v1/export/", {"updated_since": stamp})

    assert_refused(response)
    assert response.status_code == 400
    assert "updated_since" in response.json()


@pytest.mark.parametrize("stamp", IMPOSSIBLE_DATES)
def test_an_impossible_updated_since_never_breaks_the_products_api(site: Site, stamp: str) -> None:
    response = site.token.get("/api/v1/products/", {"updated_since": stamp})

    assert_no_5xx(response)


@pytest.mark.parametrize(
    "forged",
    [
        "9999-12-31T23:00:00-14:00|1",
        "0001-01-01T00:00:00+14:00|1",
        "2026-01-01|99999999999999999999",
    ],
)
def test_a_forged_export_cursor_is_a_400(site: Site, forged: str) -> None:
    cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")

    response = site.token.get("/api/v1/export/", {"cursor": cursor})

    assert_refused(response)


# -- JSON bodies ----------------------------------------------------------------------------

_CONVERTER_RE = r"<(?:\w+:)?\w+>"


def _api_routes() -> list[str]:
    import re

    def walk(patterns: list, prefix: str = "") -> Iterator[str]:
        for pattern in patterns:
            if not isinstance(pattern.pattern, RoutePattern):
                continue
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                route = re.sub(r"<path:\w+>", "sku-1", route)
                yield "/" + re.sub(_CONVERTER_RE, "1", route)

    return sorted(set(walk(get_resolver().url_patterns)))


API_ROUTES = _api_routes()


def test_the_json_endpoints_are_all_covered() -> None:
    assert "/api/v1/products/sku-1/review/" in API_ROUTES
    assert "/api/v1/training/runs/" in API_ROUTES
    assert len(API_ROUTES) > 20


# The routes that read a JSON body for this method.
READS_A_BODY = {
    "post": [
        "/api/v1/products/",
        "/api/v1/products/bulk/",
        "/api/v1/products/sku-1/review/",
        "/api/v1/facets/",
        "/api/v1/tags/",
        "/api/v1/tags/1/merge/",
        "/api/v1/tokens/",
        "/api/v1/webhooks/",
        "/api/v1/training/runs/",
    ],
    "patch": ["/api/v1/products/sku-1/", "/api/v1/tags/1/"],
}


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["100k-arrays", "500-objects"])
@pytest.mark.parametrize("method", ["post", "patch", "put"])
def test_json_nested_too_deep_is_a_400_on_every_api_route(
    site: Site, body: str, method: str
) -> None:
    answered = {}
    for route in API_ROUTES:
        if route.endswith("/revoke/"):
            continue  # would revoke the token this test calls with; reads no body
        path = route.replace("/tags/1/", f"/tags/{site.tag_id}/")
        response = getattr(site.token, method)(path, body, content_type="application/json")
        answered[path] = (response.status_code, response.json() if response.content else None)

    assert {path: code for path, (code, _) in answered.items() if code >= 500} == {}
    for route in READS_A_BODY.get(method, []):
        path = route.replace("/tags/1/", f"/tags/{site.tag_id}/")
        code, error = answered[path]
        assert code == 400, path
        assert "nests deeper" in error["detail"], path


def test_a_json_body_over_the_size_limit_is_a_400(site: Site, settings) -> None:  # type: ignore[no-untyped-def]  # pytest-django's settings fixture
    settings.TAGGER_MAX_JSON_BYTES = 1000
    body = json.dumps({"name": "x" * 2000, "scope": "export"})

    response = site.token.post("/api/v1/tokens/", body, content_type="application/json")

    assert_refused(response)
    assert response.status_code == 400
    assert not ApiToken.objects.filter(name__startswith="xx").exists()


def test_ordinary_json_still_goes_through(site: Site) -> None:
    body = {"name": "sync", "scope": "export"}

    response = site.token.post("/api/v1/tokens/", body, content_type="application/json")

    assert response.status_code == 201


# -- NUL and control characters ----------------------------------------------------------------


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/products/{}/"),
        ("get", "/api/v1/products/{}/suggestions/"),
        ("post", "/api/v1/products/{}/review/"),
        ("post", "/api/v1/review/{}/skip/"),
        ("patch", "/api/v1/products/{}/"),
    ],
)
def test_a_control_character_in_an_api_path_is_refused_as_json(
    site: Site, char: str, method: str, path: str
) -> None:
    url = path.format(quote("sku" + char))

    response = getattr(site.token, method)(url, {}, content_type="application/json")

    assert_refused(response)


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/?q={}",
        "/api/v1/products/?category={}",
        "/api/v1/tags/?q={}",
        "/api/v1/export/?category={}",
        "/api/v1/export/?product_ids=a,{}",
        "/api/v1/export/?facet={}",
        "/api/v1/products/sku-1/suggestions/?model_version={}",
    ],
)
def test_a_control_character_in_an_api_query_is_refused_as_json(
    site: Site, char: str, path: str
) -> None:
    response = site.token.get(path.format(quote(char)))

    assert_refused(response)


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(
    "path",
    [
        "/taxonomy/?q={}",
        "/products/?q={}",
        "/products/?category={}",
        "/training/progress/?run={}",
        "/products/{}/",
    ],
)
def test_a_control_character_in_a_page_url_is_a_400(site: Site, char: str, path: str) -> None:
    response = site.admin.get(path.format(quote(char)))

    assert_refused(response, api=False)


def test_tabs_and_line_breaks_in_a_query_are_ordinary_text(site: Site) -> None:
    response = site.admin.get("/products/", {"q": "red\tshirt\r\n"})

    assert response.status_code == 200


# -- forged cursors ------------------------------------------------------------------------------


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


FORGED_CURSORS = [
    "not a cursor",
    _cursor("p=abc"),
    _cursor("p=99999999999999999999999"),
    _cursor("p=-99999999999999999999999&r=1"),
    _cursor("p=1.5"),
    _cursor("p=²"),
    _cursor("p=%00"),
    _cursor("o=1&p=\x01"),
    _cursor("r=x&p=1"),
    _cursor("o=-1"),
]
PAGINATED = [
    "/api/v1/products/",
    "/api/v1/tags/",
    "/api/v1/facets/",
    "/api/v1/tokens/",
    "/api/v1/webhooks/",
    "/api/v1/training/runs/",
    "/api/v1/training/versions/",
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
@pytest.mark.parametrize("path", PAGINATED)
def test_a_forged_cursor_is_refused(site: Site, path: str, cursor: str) -> None:
    response = site.token.get(path, {"cursor": cursor})

    assert_refused(response)


@pytest.mark.parametrize("path", PAGINATED)
def test_a_real_cursor_still_pages(site: Site, path: str) -> None:
    first = site.token.get(path, {"page_size": 1})
    assert first.status_code == 200
    following = first.json()["next"]
    if following is None:
        return

    response = site.token.get(following)

    assert response.status_code == 200


# -- digits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
def test_a_non_ascii_model_version_is_a_400(site: Site, digit: str) -> None:
    response = site.token.get("/api/v1/products/sku-1/suggestions/", {"model_version": digit})

    assert_refused(response)
    assert response.status_code == 400


def test_a_model_version_beyond_any_id_is_a_404(site: Site) -> None:
    response = site.token.get("/api/v1/products/sku-1/suggestions/", {"model_version": "9" * 30})

    assert_refused(response)


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
def test_a_non_ascii_run_on_the_progress_fragment_is_ignored(site: Site, digit: str) -> None:
    response = site.admin.get("/training/progress/", {"run": digit})

    assert response.status_code == 200


@pytest.mark.parametrize("digit", [*NON_ASCII_DIGITS, "9" * 30])
@pytest.mark.parametrize("field", ["tag", "has_tag"])
def test_a_non_ascii_tag_on_the_products_page_is_a_form_error(
    site: Site, digit: str, field: str
) -> None:
    response = site.admin.get("/products/", {field: digit})

    assert response.status_code == 200
    assert b"No tag" in response.content


@pytest.mark.parametrize("digit", NON_ASCII_DIGITS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/?tag={}",
        "/api/v1/products/?has_tag={}",
        "/api/v1/export/?tag={}",
        "/api/v1/products/?page={}",
        "/api/v1/tags/?page_size={}",
        "/api/v1/export/?page_size={}",
    ],
)
def test_non_ascii_digits_in_api_queries_never_break(site: Site, digit: str, path: str) -> None:
    response = site.token.get(path.format(quote(digit)))

    assert_no_5xx(response)


@pytest.mark.parametrize(
    "path", ["/api/v1/tags/{}/", "/api/v1/training/runs/{}/", "/api/v1/tokens/{}/"]
)
def test_an_id_beyond_the_database_range_is_a_404(site: Site, path: str) -> None:
    response = site.token.get(path.format("9" * 25))

    assert_refused(response)
    assert response.status_code == 404


def test_a_review_form_with_non_ascii_ids_is_a_400(site: Site, admin_user: User) -> None:
    client = _client()
    reviewer = UserFactory(role=roles.MERCHANDISER)
    client.force_login(reviewer)

    response = client.post("/review/submit/", {"product": "²", "tag": "²"})

    assert response.status_code == 400

"""Every API endpoint × every kind of caller: only the intended roles get through.

The endpoints are read from the URL resolver, so an endpoint added without an
entry here fails test_every_endpoint_has_a_matrix_entry."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from annotation.api.permissions import TokenRateThrottle
from annotation.models import ApiToken, Product
from annotation.services.review import Decision, submit_review
from annotation.services.taxonomy import merge_tags
from annotation.services.tokens import create_token
from tests.api.conftest import ROLES, World, unique
from tests.factories import (
    ImportBatchFactory,
    ProductFactory,
    TrainingRunFactory,
    UserFactory,
    WebhookFactory,
)
from training.services import runs, versions

REVIEWERS = {"merchandiser", "admin", "admin_token"}
ADMINS = {"admin", "admin_token"}
EXPORTERS = {"api_client", "export_token", "admin", "admin_token"}


@dataclass
class Call:
    path: str
    body: dict[str, Any] | None = None
    format: str = "json"


Builder = Callable[[World, User | None], Call]


def url(name: str, *args: object) -> str:
    return reverse(f"api:{name}", args=args)


def _product(w: World, u: User | None) -> Call:
    return Call(url("product", w.products[0].external_id))


def _new_product(w: World, u: User | None) -> Call:
    return Call(url("products"), {"id": unique("new-"), "title": "A new lamp"})


def _bulk(w: World, u: User | None) -> Call:
    return Call(url("products-bulk"), {"products": [{"id": unique("bulk-"), "title": "Vase"}]})


def _product_called_bulk(body: dict[str, Any] | None = None) -> Builder:
    """products/bulk/ is also the URL of the product whose id is "bulk"."""

    def build(w: World, u: User | None) -> Call:
        if not Product.objects.filter(external_id="bulk").exists():
            ProductFactory(external_id="bulk", title="A product called bulk")
        return Call(url("products-bulk"), body)

    return build


def _patch_product(w: World, u: User | None) -> Call:
    return Call(url("product", w.products[2].external_id), {"brand": "Acme"})


def _review(w: World, u: User | None) -> Call:
    return Call(
        url("product-review", w.products[1].external_id),
        {"decisions": [{"tag": "color:green", "approved": True}]},
    )


def _undo(w: World, u: User | None) -> Call:
    if u is not None:
        # a product of their own: leases keep each caller off the others' products
        submit_review(u, ProductFactory(queued=True), [Decision(w.green.pk, True)])
    return Call(url("review-undo"))


def _import_upload(w: World, u: User | None) -> Call:
    upload = SimpleUploadedFile("catalog.csv", f"id,title\n{unique('imp-')},Lamp\n".encode())
    return Call(url("imports"), {"file": upload}, format="multipart")


def _facet_create(w: World, u: User | None) -> Call:
    return Call(url("facets"), {"name": unique("facet"), "multi_valued": True})


def _tag_create(w: World, u: User | None) -> Call:
    return Call(url("tags"), {"facet": "color", "name": unique("hue"), "aliases": []})


def _merge(w: World, u: User | None) -> Call:
    return Call(url("tag-merge", w.tag().pk), {"into": w.tag().pk})


def _unmerge(w: World, u: User | None) -> Call:
    merged = w.tag()
    merge_tags(merged, w.tag(), user=None)
    return Call(url("tag-unmerge", merged.pk))


def _trigger(w: World, u: User | None) -> Call:
    current = runs.in_flight_run()
    if current is not None:
        runs.cancel_training(current)
    return Call(url("training-runs"), {"mode": "head"})


def _run(name: str) -> Builder:
    def build(w: World, u: User | None) -> Call:
        run = runs.in_flight_run() or TrainingRunFactory(mode="head")
        return Call(url(name, run.pk))

    return build


def _rollback(w: World, u: User | None) -> Call:
    older = w.version_with_files()
    versions.promote(w.version_with_files())
    return Call(url("model-version-rollback", older.pk))


def _token(name: str) -> Builder:
    def build(w: World, u: User | None) -> Call:
        owner = UserFactory(username=unique("bot"))
        token, _ = create_token(user=owner, name="t", scope=ApiToken.Scope.EXPORT, created_by=None)
        return Call(url(name, token.pk))

    return build


def _webhook(name: str, body: dict[str, Any] | None = None) -> Builder:
    def build(w: World, u: User | None) -> Call:
        hook = WebhookFactory(url="http://127.0.0.1:9/hook", secret="s" * 32)
        return Call(url(name, hook.pk), body)

    return build


def _fixed(name: str, *args: object, body: dict[str, Any] | None = None) -> Builder:
    return lambda w, u: Call(url(name, *args), body)


# (url name, method) -> (who may call it, how to build a request that succeeds).
MATRIX: dict[tuple[str, str], tuple[set[str], Builder]] = {
    ("export", "GET"): (EXPORTERS, _fixed("export")),
    ("products", "GET"): (REVIEWERS, _fixed("products")),
    ("products", "POST"): (ADMINS, _new_product),
    ("products-bulk", "POST"): (ADMINS, _bulk),
    ("imports", "GET"): (ADMINS, _fixed("imports")),
    ("imports", "POST"): (ADMINS, _import_upload),
    ("import", "GET"): (ADMINS, lambda w, u: Call(url("import", ImportBatchFactory().pk))),
    ("products-bulk", "GET"): (REVIEWERS, _product_called_bulk()),
    ("products-bulk", "PATCH"): (ADMINS, _product_called_bulk({"brand": "Acme"})),
    ("product", "GET"): (REVIEWERS, _product),
    ("product", "PATCH"): (ADMINS, _patch_product),
    ("product-suggestions", "GET"): (
        REVIEWERS,
        lambda w, u: Call(url("product-suggestions", w.products[0].external_id)),
    ),
    ("product-review", "POST"): (REVIEWERS, _review),
    ("review-next", "POST"): (REVIEWERS, _fixed("review-next")),
    ("review-undo", "POST"): (REVIEWERS, _undo),
    ("review-skip", "POST"): (REVIEWERS, lambda w, u: Call(url("review-skip", "sku-3"))),
    ("facets", "GET"): (REVIEWERS, _fixed("facets")),
    ("facets", "POST"): (ADMINS, _facet_create),
    ("facet", "GET"): (REVIEWERS, lambda w, u: Call(url("facet", w.color.pk))),
    ("facet", "PATCH"): (
        ADMINS,
        lambda w, u: Call(url("facet", w.color.pk), {"display_name_en": "Colour"}),
    ),
    ("tags", "GET"): (REVIEWERS, _fixed("tags")),
    ("tags", "POST"): (ADMINS, _tag_create),
    ("tag", "GET"): (REVIEWERS, lambda w, u: Call(url("tag", w.red.pk))),
    ("tag", "PATCH"): (
        ADMINS,
        lambda w, u: Call(url("tag", w.tag().pk), {"display_name_en": "A tone"}),
    ),
    ("tag-merge", "POST"): (ADMINS, _merge),
    ("tag-unmerge", "POST"): (ADMINS, _unmerge),
    ("tag-deprecate", "POST"): (ADMINS, lambda w, u: Call(url("tag-deprecate", w.tag().pk))),
    ("training-runs", "GET"): (ADMINS, _fixed("training-runs")),
    ("training-runs", "POST"): (ADMINS, _trigger),
    ("training-run", "GET"): (ADMINS, _run("training-run")),
    ("training-run-cancel", "POST"): (ADMINS, _run("training-run-cancel")),
    ("model-versions", "GET"): (ADMINS, _fixed("model-versions")),
    ("model-version", "GET"): (ADMINS, lambda w, u: Call(url("model-version", w.version.pk))),
    ("model-version-promote", "POST"): (
        ADMINS,
        lambda w, u: Call(url("model-version-promote", w.version_with_files().pk)),
    ),
    ("model-version-rollback", "POST"): (ADMINS, _rollback),
    ("predictions", "POST"): (
        ADMINS,
        _fixed(
            "predictions",
            body={
                "model_version": "vendor",
                "predictions": [{"product": "sku-1", "tag": "color:red", "score": 0.9}],
            },
        ),
    ),
    ("tokens", "GET"): (ADMINS, _fixed("tokens")),
    ("tokens", "POST"): (ADMINS, _fixed("tokens", body={"name": "sync", "scope": "export"})),
    ("token", "GET"): (ADMINS, _token("token")),
    ("token", "DELETE"): (ADMINS, _token("token")),
    ("token-revoke", "POST"): (ADMINS, _token("token-revoke")),
    ("webhooks", "GET"): (ADMINS, _fixed("webhooks")),
    ("webhooks", "POST"): (ADMINS, _fixed("webhooks", body={"url": "https://example.com/h"})),
    ("webhook", "GET"): (ADMINS, _webhook("webhook")),
    ("webhook", "PATCH"): (ADMINS, _webhook("webhook", {"active": False})),
    ("webhook", "DELETE"): (ADMINS, _webhook("webhook")),
    ("webhook-deliveries", "GET"): (ADMINS, _webhook("webhook-deliveries")),
}


def _api_views(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, str, type[APIView]]]:
    """(url name, route, view class) of every DRF view under api/."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
            continue
        view_class = getattr(pattern.callback, "view_class", None)
        if route.startswith("api/v1/") and view_class and issubclass(view_class, APIView):
            yield pattern.name or route, route, view_class


def _endpoints() -> set[tuple[str, str]]:
    found = set()
    for name, _, view_class in _api_views(get_resolver().url_patterns):
        for method in view_class.http_method_names:
            if method not in ("options", "head") and hasattr(view_class, method):
                found.add((name, method.upper()))
    return found


def test_every_endpoint_has_a_matrix_entry() -> None:
    endpoints = _endpoints()

    assert endpoints - MATRIX.keys() == set(), "endpoints missing from the matrix"
    assert MATRIX.keys() - endpoints == set(), "matrix entries for endpoints that do not exist"


def test_every_view_names_its_permissions_and_throttles_tokens() -> None:
    for name, _, view_class in _api_views(get_resolver().url_patterns):
        assert TokenRateThrottle in view_class.throttle_classes, name
        names = {p.__name__ for p in view_class.permission_classes}
        assert names, name
        assert names != {"IsAuthenticated"}, name


@pytest.mark.parametrize(("name", "method"), sorted(MATRIX))
def test_only_the_intended_roles_get_through(
    name: str,
    method: str,
    world: World,
    make_client: Callable[[str], tuple[APIClient, User | None]],
) -> None:
    allowed, build = MATRIX[(name, method)]
    problems = []
    for role in ROLES:
        # given
        client, user = make_client(role)
        call = build(world, user)
        # when
        response = getattr(client, method.lower())(call.path, call.body, format=call.format)
        # then
        code = response.status_code
        if role in allowed and not 200 <= code < 300:
            problems.append(f"{role} should succeed, got {code}: {response.content[:300]!r}")
        if role not in allowed and code not in (401, 403):
            problems.append(f"{role} should be refused, got {code}")
        if role == "anonymous" and code == 401:
            assert response.headers.get("WWW-Authenticate") == "Bearer"

    assert problems == []

"""What every API view shares: token throttling, JSON bodies, documented error
responses, the error types the services' failures map to, and pagination."""

import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, IntegerField, Model, QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import (
    BasePagination,
    Cursor,
    CursorPagination,
    PageNumberPagination,
)
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from annotation.api.parsers import LimitedJSONParser
from annotation.api.permissions import TokenRateThrottle
from annotation.inputs import MAX_ID, has_control_characters

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ERROR_SCHEMA = {
    "type": "object",
    "description": '{"detail": "..."} or field errors {"field": ["..."]}',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}
_ERRORS = {
    "400": "Invalid input",
    "401": "Not authenticated, or an invalid or revoked token",
    "403": "Not allowed for this role or token scope",
    "404": "Not found",
    "415": "The body is not of a media type this operation reads",
    "429": "Too many requests for this token",
}


class ScopedTokenScheme(OpenApiAuthenticationExtension):
    """Documents ScopedTokenAuthentication (registered by being defined)."""

    target_class = "annotation.api.auth.ScopedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: `Authorization: Bearer tgr_...`. Export tokens "
            "read the export only; admin tokens act as their (admin) user.",
        }


def error_response(description: str) -> OpenApiResponse:
    """An error response with the common error body, for extend_schema."""
    return OpenApiResponse(response=_ERROR_SCHEMA, description=description)


class TaggerAutoSchema(AutoSchema):
    """Documents the error responses every endpoint can give, so clients (and the
    schema tests) know the shape of a 4xx body."""

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        has_lookup = "{" in self.path
        paginated = self._is_list_view() and self._get_paginator() is not None
        for code, description in _ERRORS.items():
            if code == "404" and not (has_lookup or paginated):
                continue
            if code == "415" and self.method not in ("POST", "PUT", "PATCH"):
                continue
            responses.setdefault(
                code,
                {
                    "description": description,
                    "content": {"application/json": {"schema": _ERROR_SCHEMA}},
                },
            )
        return responses


class ApiMixin:
    """Throttled per token, JSON in, documented errors."""

    throttle_classes: Sequence[type[BaseThrottle]] = (TokenRateThrottle,)
    parser_classes: Sequence[type[BaseParser]] = (LimitedJSONParser,)
    schema: ViewInspector | None = TaggerAutoSchema()


class ApiView(ApiMixin, APIView):
    pass


class GenericApiView(ApiMixin, GenericAPIView):
    pass


class SlugField(serializers.SlugRelatedField):
    """A SlugRelatedField that answers "does not exist" for a slug holding NUL,
    which no stored name has, instead of sending it to the database (PostgreSQL
    refuses NUL in text: a 500)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class Conflict(APIException):
    """The request is valid but the resource's state forbids it now."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; try again later."
    default_code = "service_unavailable"


def bad_request(message: str) -> ValidationError:
    """A 400 with the {"detail": message} body (a service's ValueError)."""
    return ValidationError({"detail": message})


def validated(serializer_class: type, data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# -- pagination -----------------------------------------------------------------------


def _valid_position(model: type[Model], attr: str, position: str) -> bool:
    """Whether a cursor's position can be compared with the `attr` column: a
    forged one (text for an id, an id beyond 64 bits, NUL) would otherwise fail
    inside the query as a 500."""
    if has_control_characters(position, allow_breaks=False):
        return False
    try:
        field = model._meta.get_field(attr)
    except FieldDoesNotExist:
        return True  # a related path: compared as the database compares it
    if not isinstance(field, Field):
        return True  # a reverse relation: not an ordering the views use
    if isinstance(field, IntegerField):
        return _INTEGER.fullmatch(position) is not None and abs(int(position)) <= MAX_ID
    try:
        field.to_python(position)
    except DjangoValidationError:
        return False
    return True


PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(request: Request, default: int = PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """The `page_size` query parameter, validated as the export validates its own
    (an integer from 1 to the maximum): anything else is a 400 naming the field,
    never silently replaced by the default or cut to the maximum."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    return _positive_integer("page_size", raw, maximum)


def page_number(request: Request, last_page: int) -> int:
    """The `page` query parameter, checked as page_size is: an integer from 1 to
    the last page (1 for an empty list), else a 400 naming the field, not DRF's
    404 "Invalid page." (`last` still names the last page, as DRF has it)."""
    raw = request.query_params.get("page")
    if raw in PageNumberPagination.last_page_strings:
        return last_page
    return _positive_integer("page", raw, last_page)


def _positive_integer(name: str, raw: str | None, maximum: int) -> int:
    """The query parameter `name`, given as `raw`, as an integer from 1 to
    `maximum`; else a 400 naming the parameter."""
    field = serializers.IntegerField(min_value=1, max_value=maximum)
    try:
        value: int = field.run_validation(raw)
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from exc
    return value


class _PageSize:
    """DRF's paginators ignore an invalid page_size and cut a large one to the
    maximum; these refuse both (400)."""

    def get_page_size(self, request: Request) -> int:
        return page_size(request)


class _Cursor(_PageSize, CursorPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    _model: type[Model] | None = None

    def paginate_queryset(  # type: ignore[override]  # pages querysets only
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, refused as an invalid cursor (404) when its position
        does not fit the ordering column."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None or self._model is None:
            return cursor
        attr = str(self.ordering[0]).lstrip("-")
        if not _valid_position(self._model, attr, str(cursor.position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class _Pages(_PageSize, PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return page_number(request, paginator.num_pages)


class CursorOrPagePagination(BasePagination):
    """Cursor pagination (stable while rows are added) unless the client asks for
    `?page=N`, which also reports the total count. The view's `ordering` orders both.

    A cursor page has no `count` at all: counting would cost a second query over
    the whole filtered list on every page (the products' filters join the
    suggestions), which cursor paging exists to avoid, and a `count: null` would
    read as data. Ask for `?page=1` to get the total."""

    def paginate_queryset(  # type: ignore[override]  # pages querysets only: it orders them
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        ordering = tuple(getattr(view, "ordering", ("-id",)))
        if "page" in request.query_params:
            self._impl: _Cursor | _Pages = _Pages()
            return self._impl.paginate_queryset(queryset.order_by(*ordering), request, view)
        self._impl = _Cursor()
        self._impl.ordering = ordering
        return self._impl.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: list[Any]) -> Response:
        body: dict[str, Any] = {}
        if isinstance(self._impl, _Pages):
            assert self._impl.page is not None, "paginate_queryset made the page"
            body["count"] = self._impl.page.paginator.count
        body["next"] = self._impl.get_next_link()
        body["previous"] = self._impl.get_previous_link()
        body["results"] = data
        return Response(body)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # OpenAPI 3.1 (JSON Schema): null is a type, `nullable` is no keyword.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Total rows: only on ?page= pages; a cursor page has no count",
                },
                "next": link,
                "previous": link,
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        def param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
            return {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": schema,
            }

        return [
            param("cursor", {"type": "string"}, "The `next` or `previous` link's cursor"),
            param(
                "page",
                {"type": "integer", "minimum": 1},
                "Page number, 1 to the last page; switches to page pagination with a "
                "`count`. Any other value is a 400",
            ),
            param(
                "page_size",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                    "default": PAGE_SIZE,
                },
                f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE}); any other "
                "value is a 400",
            ),
        ]


class ListApiView(ApiMixin, ListAPIView):
    """A paginated list; `ordering` orders it, `filter_queryset` filters it."""

    pagination_class = CursorOrPagePagination
    ordering: tuple[str, ...] = ("-id",)

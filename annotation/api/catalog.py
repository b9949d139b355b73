"""Products: list with filters, create and update through the import (its
validation and cleaning, never a copy of them), and model suggestions."""

import io
import json
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import (
    Conflict,
    GenericApiView,
    ListApiView,
    bad_request,
    error_response,
    validated,
)
from annotation.api.permissions import ReviewerReadsAdminWrites
from annotation.api.serializers import (
    BulkProductsDocSerializer,
    BulkProductsSerializer,
    FacetNameField,
    ImportOutcomeSerializer,
    ProductCreateSerializer,
    ProductPatchSerializer,
    ProductSerializer,
    TagKeyField,
    with_approved_tags,
)
from annotation.inputs import parse_id
from annotation.models import Product, Suggestion
from annotation.roles import signed_in
from annotation.services import active_model
from annotation.services.importing import ImportResult, import_products
from annotation.views.products import filter_products


class ProductQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200, help_text="Text, brand or exact id")
    category = serializers.CharField(required=False, max_length=200)
    state = serializers.ChoiceField(choices=["reviewed", "unreviewed"], required=False)
    tag = TagKeyField(required=False, help_text="facet:value the active model suggests")
    facet = FacetNameField(required=False, help_text="Facet name of the active model's suggestions")
    score_min = serializers.FloatField(required=False, min_value=0, max_value=1)
    score_max = serializers.FloatField(required=False, min_value=0, max_value=1)
    has_tag = TagKeyField(required=False, help_text="facet:value approved on the product")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("score_min"), attrs.get("score_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError("score_min is above score_max")
        return attrs


def import_rows(
    rows: list[dict[str, Any]], user: User, *, keep_valid: bool, source: str
) -> ImportResult:
    """Run rows through the catalogue import (its validation and its caps), as
    in-memory JSON Lines: line n + 1 is rows[n], for errors about a row or a
    line alike. ASCII JSON, so that any string a JSON body can hold (a lone
    surrogate too) reaches the import's own checks."""
    payload = "".join(json.dumps(row, default=str) + "\n" for row in rows).encode("ascii")
    return import_products(
        io.BytesIO(payload), filename=source, fmt="jsonl", keep_valid=keep_valid, user=user
    )


def _outcome(result: ImportResult) -> dict[str, Any]:
    return {
        "batch": result.batch.pk,
        "succeeded": result.succeeded,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        # Line n + 1 holds rows[n], and line 0 is the request as a whole.
        "errors": [
            {"index": e.line - 1 if e.line else None, "reason": e.reason} for e in result.errors
        ],
        "errors_omitted": result.omitted_errors,
    }


def _first_error(result: ImportResult) -> str:
    return result.errors[0].reason if result.errors else "the product was not saved"


# products/bulk/ is also this product's URL.
BULK_ID = "bulk"
# Every route that names a product takes its external id as it is in the catalogue.
PRODUCT_ID = OpenApiParameter(
    "external_id",
    str,
    OpenApiParameter.PATH,
    description=(
        "The product's id as imported; any text. Percent-encode it as any URL path "
        "(a space as %20, `?` as %3F, `#` as %23, `%` as %25, non-ASCII as UTF-8). A "
        "`/` may stay as it is: the id `a/b` is `/api/v1/products/a/b/`. The product "
        "whose id is `bulk` is read and changed at `/api/v1/products/bulk/` like any "
        "other (POST there is the bulk import). The only clash: an id that ends in "
        "`/suggestions` or `/review` reads as that sub-resource of the shorter id."
    ),
)


def _product(external_id: str) -> Product:
    return get_object_or_404(with_approved_tags(Product.objects.all()), external_id=external_id)


def _show(external_id: str) -> Response:
    return Response(ProductSerializer(_product(external_id)).data)


def _change(request: Request, external_id: str) -> Response:
    product = _product(external_id)
    changes = validated(ProductPatchSerializer, request.data)
    row: dict[str, Any] = {
        "id": product.external_id,
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "category": product.category_path,
        "attributes": product.attributes,
        "image_url": product.image_url,
        "language": product.language,
        **changes,
    }
    result = import_rows([row], signed_in(request.user), keep_valid=False, source="api:update")
    if not result.succeeded:
        raise bad_request(_first_error(result))
    return Response(ProductSerializer(_product(external_id)).data)


@extend_schema_view(get=extend_schema(parameters=[ProductQuerySerializer]))
class ProductListView(ListApiView):
    """The catalogue. Reviewers read it; admins add products."""

    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    ordering = ("id",)

    def filter_queryset(  # type: ignore[override]  # model rows only, never .values() rows
        self, queryset: QuerySet[Product]
    ) -> QuerySet[Product]:
        data = validated(ProductQuerySerializer, self.request.query_params)
        return with_approved_tags(filter_products(data, active_model.active_version()))

    @extend_schema(
        request=ProductCreateSerializer,
        responses={201: ProductSerializer, 409: error_response("The id exists already")},
    )
    def post(self, request: Request) -> Response:
        data = validated(ProductCreateSerializer, request.data)
        if Product.objects.filter(external_id=data["id"]).exists():
            raise Conflict(
                f"product {data['id']!r} exists; PATCH /api/v1/products/<id>/ changes it"
            )
        result = import_rows([data], signed_in(request.user), keep_valid=False, source="api:create")
        if not result.succeeded:
            raise bad_request(_first_error(result))
        product = _product(data["id"])
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductBulkView(GenericApiView):
    """Create or update many products by id, validated by the import: all or
    nothing unless keep_valid, with the reason for every rejected row."""

    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = BulkProductsSerializer

    @extend_schema(
        request=BulkProductsDocSerializer,
        responses={
            200: ImportOutcomeSerializer,
            400: error_response(
                "Invalid request, or rows rejected: then the body is the outcome (as for "
                "200) with a detail, and nothing was saved"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(BulkProductsSerializer, request.data)
        result = import_rows(
            data["products"],
            signed_in(request.user),
            keep_valid=data["keep_valid"],
            source="api:bulk",
        )
        body = _outcome(result)
        if not result.succeeded:
            body["detail"] = (
                f"{result.rejected} of {len(data['products'])} rows rejected; nothing was saved"
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)

    # This is also the URL of the product whose id is "bulk": the detail routes
    # serve it, as the schema's /products/{external_id}/ operations describe.
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return _show(BULK_ID)

    @extend_schema(exclude=True)
    def patch(self, request: Request) -> Response:
        return _change(request, BULK_ID)


@extend_schema_view(get=extend_schema(parameters=[PRODUCT_ID]))
class ProductDetailView(GenericApiView):
    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    lookup_field = "external_id"

    def get(self, request: Request, external_id: str) -> Response:
        return _show(external_id)

    @extend_schema(
        request=ProductPatchSerializer, responses=ProductSerializer, parameters=[PRODUCT_ID]
    )
    def patch(self, request: Request, external_id: str) -> Response:
        """Change some fields; the whole row is then re-imported, so it is cleaned
        and validated exactly as an import would."""
        return _change(request, external_id)


class SuggestionSerializer(serializers.Serializer):
    tag_id = serializers.IntegerField(source="tag.pk")
    key = serializers.CharField(source="tag.key")
    facet = serializers.CharField(source="tag.group.name")
    score = serializers.FloatField()
    selected = serializers.BooleanField(help_text="Above the tag's threshold")
    evidence = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[start, end] spans of the product's normalised text",
    )


class SuggestionsSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(allow_null=True)
    results = SuggestionSerializer(many=True)


class ProductSuggestionsView(GenericApiView):
    """What a model version proposes for the product, highest score first."""

    permission_classes = (ReviewerReadsAdminWrites,)
    serializer_class = SuggestionsSerializer
    queryset = Product.objects.all()
    lookup_field = "external_id"

    @extend_schema(
        parameters=[
            PRODUCT_ID,
            OpenApiParameter(
                "model_version", int, description="A model version id; the active one by default"
            ),
        ]
    )
    def get(self, request: Request, external_id: str) -> Response:
        product = get_object_or_404(Product, external_id=external_id)
        raw = request.query_params.get("model_version")
        if raw:
            version_id = parse_id(raw)
            if version_id is None:
                raise bad_request("model_version must be a model version id (ASCII digits)")
            version = active_model.find_version(version_id)
            if version is None:
                raise NotFound("no such model version")
        else:
            version = active_model.active_version()
        suggestions = (
            Suggestion.objects.filter(product=product, model_version=version)
            .select_related("tag__group")
            .order_by("-score", "tag__name")
            if version is not None
            else Suggestion.objects.none()
        )
        return Response(
            SuggestionsSerializer(
                {"model_version": version.pk if version else None, "results": suggestions}
            ).data
        )

"""Review through the API: claim the next product, submit decisions, skip, undo.
The same services as the review page; a token acts for its user."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.base import ApiView, Conflict, bad_request, error_response, validated
from annotation.api.catalog import PRODUCT_ID
from annotation.api.permissions import CanReview
from annotation.api.serializers import ProductSerializer, TagViewSerializer, find_tag
from annotation.errors import LeaseConflict, ReviewError
from annotation.models import Product
from annotation.roles import signed_in
from annotation.services import active_model, queue
from annotation.services import review as review_service
from annotation.services.importing.tags import TagResolver


class DecisionSerializer(serializers.Serializer):
    tag = serializers.CharField(required=False, help_text="facet:value (or give tag_id)")
    tag_id = serializers.IntegerField(required=False, min_value=1)
    approved = serializers.BooleanField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("tag" in attrs) == ("tag_id" in attrs):
            raise serializers.ValidationError("give either tag (facet:value) or tag_id")
        return attrs


class SubmitSerializer(serializers.Serializer):
    decisions = DecisionSerializer(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]  # many=True builds a ListSerializer, which takes max_length
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReviewedSerializer(serializers.Serializer):
    submission = serializers.UUIDField()
    product = serializers.CharField(help_text="The product's external id")
    decisions = serializers.IntegerField(help_text="Decisions recorded (or undone)")
    tags = TagViewSerializer(many=True, help_text="The product's tags after the change")


class ClaimSerializer(serializers.Serializer):
    product = ProductSerializer()
    reason = serializers.CharField(help_text="Why the queue chose it")
    priority = serializers.FloatField()
    lease_expires_at = serializers.DateTimeField()
    model_version = serializers.IntegerField(allow_null=True)
    tags = TagViewSerializer(many=True, help_text="Suggestions and decided tags, by facet")


def _decisions(items: list[dict[str, Any]]) -> list[review_service.Decision]:
    resolver = TagResolver()
    decisions = []
    for index, item in enumerate(items):
        if "tag" in item:
            try:
                tag_id = find_tag(item["tag"], resolver).pk
            except serializers.ValidationError as exc:
                # Keyed by the decision's index, as DRF keys a list's item errors.
                detail: dict[str, Any] = {"decisions": {index: {"tag": exc.detail}}}
                raise serializers.ValidationError(detail) from exc
        else:
            tag_id = item["tag_id"]
        decisions.append(review_service.Decision(tag_id=tag_id, approved=item["approved"]))
    return decisions


def _reviewed(result: review_service.SubmitResult) -> dict[str, Any]:
    return ReviewedSerializer(
        {
            "submission": result.submission,
            "product": result.product.external_id,
            "decisions": len(result.events),
            "tags": review_service.review_state(result.product, active_model.active_version()),
        }
    ).data


class ProductReviewView(ApiView):
    """Submit decisions about one product (all or nothing). Tags not mentioned
    keep their state; the product counts as reviewed. Leases are the law: a
    product leased to someone else, or one that has had the reviews it needs,
    is refused with 409 (admins may override; the override is recorded)."""

    permission_classes = (CanReview,)

    @extend_schema(
        request=SubmitSerializer,
        responses={
            200: ReviewedSerializer,
            409: error_response(
                "The product is leased to someone else, or has had the reviews it needs "
                "(claim it with review/next first); nothing was saved"
            ),
        },
        parameters=[PRODUCT_ID],
    )
    def post(self, request: Request, external_id: str) -> Response:
        product = get_object_or_404(Product, external_id=external_id)
        data = validated(SubmitSerializer, request.data)
        decisions = _decisions(data["decisions"])
        try:
            result = review_service.submit_review(
                signed_in(request.user), product, decisions, note=data.get("note", "")
            )
        except LeaseConflict as exc:
            raise Conflict(str(exc)) from exc
        except ReviewError as exc:
            raise bad_request(str(exc)) from exc
        return Response(_reviewed(result))


class ReviewNextView(ApiView):
    """Claim the next product to review (a lease; your own live lease comes back
    first). 204 when the queue has nothing left for you."""

    permission_classes = (CanReview,)

    @extend_schema(
        request=None,
        responses={
            200: ClaimSerializer,
            204: OpenApiResponse(description="The queue is empty for you"),
        },
    )
    def post(self, request: Request) -> Response:
        entry = queue.claim_next(signed_in(request.user))
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        version = active_model.active_version()
        body = ClaimSerializer(
            {
                "product": entry.product,
                "reason": entry.reason,
                "priority": entry.priority,
                "lease_expires_at": entry.lease_expires_at,
                "model_version": version.pk if version else None,
                "tags": review_service.review_state(entry.product, version),
            }
        ).data
        return Response(body)


class ReviewSkipView(ApiView):
    """Skip a product: released if you hold it, and not served straight back to you."""

    permission_classes = (CanReview,)

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Skipped")},
        parameters=[PRODUCT_ID],
    )
    def post(self, request: Request, external_id: str) -> Response:
        product = get_object_or_404(Product, external_id=external_id)
        queue.skip(signed_in(request.user), product)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewUndoView(ApiView):
    """Undo your latest review submission; the product goes back to you."""

    permission_classes = (CanReview,)

    @extend_schema(
        request=None,
        responses={
            200: ReviewedSerializer,
            409: error_response("Nothing to undo"),
        },
    )
    def post(self, request: Request) -> Response:
        result = review_service.undo_last_submission(signed_in(request.user))
        if result is None:
            raise Conflict("Nothing to undo: you have no review submission left to undo.")
        return Response(_reviewed(result))

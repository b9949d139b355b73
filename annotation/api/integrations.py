"""API tokens and webhooks, for admins. A token's key and a webhook's secret are
shown once, in the response that creates them."""

from typing import Any, ClassVar

from django.contrib.auth.models import User
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation import roles
from annotation.api.base import GenericApiView, ListApiView, SlugField, validated
from annotation.api.permissions import IsTaggerAdmin
from annotation.errors import WebhookError
from annotation.models import ApiToken, Webhook, WebhookDelivery, WebhookEvent
from annotation.services import tokens, webhooks

# -- tokens ---------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = ApiToken
        fields: ClassVar[list[str]] = [
            "id",
            "name",
            "user",
            "scope",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class TokenCreatedSerializer(TokenSerializer):
    key = serializers.CharField(help_text="Shown once: only a hash is stored")

    class Meta(TokenSerializer.Meta):
        fields: ClassVar[list[str]] = [*TokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.EXPORT)
    user = SlugField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Whose token (username); you by default",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = attrs.get("user") or self.context["request"].user
        # A token never acts beyond its user's role: a scope the role does not
        # have would only ever be refused.
        if not tokens.scope_within_role(user, attrs["scope"]):
            needs = (
                "an admin" if attrs["scope"] == ApiToken.Scope.ADMIN else "an API client or admin"
            )
            raise serializers.ValidationError(
                # "a token with the export scope": no article to agree with the scope.
                {
                    "scope": [
                        f"{user.username} is not {needs}; "
                        f"a token with the {attrs['scope']} scope needs one"
                    ]
                }
            )
        attrs["user"] = user
        return attrs


class TokenListView(ListApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.select_related("user", "created_by")

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = validated(TokenCreateSerializer, request.data, context={"request": request})
        token, key = tokens.create_token(
            user=data["user"],
            name=data["name"],
            scope=data["scope"],
            created_by=roles.signed_in(request.user),
        )
        token.key = key  # type: ignore[attr-defined]  # set for the response only
        return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(GenericApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.select_related("user", "created_by")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: OpenApiResponse(description="Revoked")})
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke the token (the row stays, for the record)."""
        tokens.revoke_token(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeView(GenericApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.select_related("user", "created_by")

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        token = self.get_object()
        tokens.revoke_token(token)
        return Response(self.get_serializer(token).data)


# -- webhooks -------------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    url = serializers.URLField(
        max_length=2000, validators=[URLValidator(schemes=["http", "https"])]
    )
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, read_only=True
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        min_length=1,
        max_length=len(WebhookEvent.values),
        required=False,
        help_text="The event types this hook receives; `tags.changed` alone by default. "
        "Payloads: the schema's webhooks section",
    )

    class Meta:
        model = Webhook
        fields: ClassVar[list[str]] = [
            "id",
            "url",
            "active",
            "events",
            "version",
            "created_by",
            "created_at",
        ]
        read_only_fields: ClassVar[list[str]] = ["id", "version", "created_by", "created_at"]


class WebhookWriteSerializer(WebhookSerializer):
    secret = serializers.CharField(
        min_length=webhooks.SECRET_MIN_LENGTH,
        max_length=webhooks.SECRET_MAX_LENGTH,
        required=False,
        write_only=True,
        help_text="HMAC-SHA256 key; generated when not given",
    )

    class Meta(WebhookSerializer.Meta):
        fields: ClassVar[list[str]] = [*WebhookSerializer.Meta.fields, "secret"]

    def validate_url(self, value: str) -> str:
        """http(s) only, no credentials or control characters, and a host that
        resolves to public addresses only (unless TAGGER_WEBHOOK_ALLOWED_HOSTS)."""
        try:
            return webhooks.validate_url(value)
        except WebhookError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once")

    class Meta(WebhookSerializer.Meta):
        fields: ClassVar[list[str]] = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields: ClassVar[list[str]] = [
            "id",
            "event",
            "url",
            "status",
            "attempts",
            "response_code",
            "error",
            "created_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields


class WebhookListView(ListApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.select_related("created_by")

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = validated(WebhookWriteSerializer, request.data)
        try:
            hook = webhooks.create_webhook(
                url=data["url"],
                secret=data.get("secret", ""),
                active=data.get("active", True),
                events=data.get("events"),
                created_by=roles.signed_in(request.user),
            )
        except WebhookError as exc:  # the host resolved differently a moment later
            raise serializers.ValidationError({"url": [str(exc)]}) from exc
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(GenericApiView):
    permission_classes = (IsTaggerAdmin,)
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.select_related("created_by")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=WebhookWriteSerializer(partial=True), responses=WebhookSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """Change the URL, secret, event types or active flag. A new URL cancels the deliveries
        created before it; deactivating cancels the pending ones."""
        hook = self.get_object()
        data = validated(WebhookWriteSerializer, request.data, partial=True)
        try:
            webhooks.update_webhook(
                hook,
                url=data.get("url"),
                secret=data.get("secret"),
                active=data.get("active"),
                events=data.get("events"),
            )
        except WebhookError as exc:  # the host resolved differently a moment later
            raise serializers.ValidationError({"url": [str(exc)]}) from exc
        return Response(WebhookSerializer(hook).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its deliveries")})
    def delete(self, request: Request, pk: int) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(ListApiView):
    """The delivery log, newest first."""

    permission_classes = (IsTaggerAdmin,)
    serializer_class = DeliverySerializer
    queryset = WebhookDelivery.objects.all()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(webhook=get_object_or_404(Webhook, pk=self.kwargs["pk"]))

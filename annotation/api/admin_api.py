"""API tokens and webhooks, for admins. A token's key and a webhook's secret are
shown once, in the response that creates them."""

from typing import Any

from django.contrib.auth.models import User
from django.core.validators import URLValidator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from annotation import roles
from annotation.api.common import GenericApiView, ListApiView, validated
from annotation.api.permissions import IsTaggerAdmin
from annotation.models import ApiToken, Webhook, WebhookDelivery
from annotation.services import tokens, webhooks

# -- tokens ---------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)

    class Meta:
        model = ApiToken
        fields = [
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
        fields = [*TokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.EXPORT)
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Whose token (username); you by default",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = attrs.get("user") or self.context["request"].user
        # A token never acts beyond its user's role: an admin scope on a
        # non-admin's token would only ever be refused.
        if attrs["scope"] == ApiToken.Scope.ADMIN and not roles.is_admin(user):
            raise serializers.ValidationError(
                {"scope": [f"{user.username} is not an admin; an admin token needs one"]}
            )
        attrs["user"] = user
        return attrs


class TokenListView(ListApiView):
    permission_classes = [IsTaggerAdmin]
    serializer_class = TokenSerializer
    queryset = ApiToken.objects.select_related("user", "created_by")

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = validated(TokenCreateSerializer, request.data, context={"request": request})
        token, key = tokens.create_token(
            user=data["user"], name=data["name"], scope=data["scope"], created_by=request.user
        )
        token.key = key  # for the response only
        return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(GenericApiView):
    permission_classes = [IsTaggerAdmin]
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
    permission_classes = [IsTaggerAdmin]
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

    class Meta:
        model = Webhook
        fields = ["id", "url", "active", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class WebhookWriteSerializer(WebhookSerializer):
    secret = serializers.CharField(
        min_length=16,
        max_length=128,
        required=False,
        write_only=True,
        help_text="HMAC-SHA256 key; generated when not given",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
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
    permission_classes = [IsTaggerAdmin]
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.select_related("created_by")

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = validated(WebhookWriteSerializer, request.data)
        hook = webhooks.create_webhook(
            url=data["url"],
            secret=data.get("secret", ""),
            active=data.get("active", True),
            created_by=request.user,
        )
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(GenericApiView):
    permission_classes = [IsTaggerAdmin]
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.select_related("created_by")

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=WebhookWriteSerializer(partial=True), responses=WebhookSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        hook = self.get_object()
        serializer = WebhookWriteSerializer(hook, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(WebhookSerializer(hook).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its deliveries")})
    def delete(self, request: Request, pk: int) -> Response:
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(ListApiView):
    """The delivery log, newest first."""

    permission_classes = [IsTaggerAdmin]
    serializer_class = DeliverySerializer
    queryset = WebhookDelivery.objects.all()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(webhook=get_object_or_404(Webhook, pk=self.kwargs["pk"]))

"""API tokens and webhooks."""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from annotation.admin.base import ReadOnlyAdmin
from annotation.errors import WebhookError
from annotation.models import ApiToken, Webhook, WebhookDelivery, WebhookEvent
from annotation.models.integrations import default_webhook_events
from annotation.roles import signed_in
from annotation.services import webhooks
from annotation.services.tokens import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    # Tokens are issued where their key can be shown once (the app's token
    # page or the API); the admin lists and revokes them.
    list_display = ("name", "user", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = (
        "user",
        "scope",
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            revoke_token(token)
        self.message_user(
            request,
            ngettext("Revoked %(n)d token.", "Revoked %(n)d tokens.", len(tokens))
            % {"n": len(tokens)},
            messages.SUCCESS,
        )


class WebhookAdminForm(forms.ModelForm):
    """The URL checked as the API checks it; the secret write-only: never shown,
    set on creation, replaced only when a new one is typed."""

    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    new_secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        min_length=webhooks.SECRET_MIN_LENGTH,
        max_length=webhooks.SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "The key that signs each delivery. It is never shown again; leave it empty "
            "to keep the current one."
        ),
    )

    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The event types this webhook receives; none ticked keeps the current ones."),
    )

    class Meta:
        model = Webhook
        fields: ClassVar[list[str]] = ["url", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].initial = (
            self.instance.events if self.instance.pk is not None else default_webhook_events()
        )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if self.instance.pk is not None and url == self.instance.url:
            return url
        try:
            return webhooks.validate_url(url)
        except WebhookError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("new_secret"):
            self.add_error("new_secret", _("Set the secret the receiver will check."))
        return cleaned


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookAdminForm
    fields = ("url", "active", "events", "new_secret", "version", "created_by", "created_at")
    list_display = ("url", "active", "version", "created_by", "created_at")
    list_filter = ("active",)
    readonly_fields = ("version", "created_by", "created_at")

    def save_model(
        self, request: HttpRequest, obj: Webhook, form: WebhookAdminForm, change: bool
    ) -> None:
        # Through the service, as the API: a new URL starts a new version and
        # cancels the deliveries made for the old one.
        secret = form.cleaned_data.get("new_secret") or None
        events = form.cleaned_data.get("events") or None
        if change:
            current = Webhook.objects.get(pk=obj.pk)
            webhooks.update_webhook(
                current, url=obj.url, secret=secret, active=obj.active, events=events
            )
        else:
            created = webhooks.create_webhook(
                url=obj.url,
                secret=secret or "",
                active=obj.active,
                events=events,
                created_by=signed_in(request.user),
            )
            obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "webhook",
        "url",
        "event",
        "status",
        "attempts",
        "response_code",
        "error",
        "created_at",
    )
    list_filter = ("status", "event")
    list_select_related = ("webhook",)

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        EXPORT = "export", _("Export (read-only)")
        ADMIN = "admin", _("Admin")

    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.EXPORT)
    # Only a hash is stored; the key is shown once, when created.
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.prefix}…)"


class WebhookEvent(models.TextChoices):
    """What a webhook can be told about (each hook picks its own: `Webhook.events`)."""

    TAGS_CHANGED = "tags.changed", _("Tags changed (each product's approved tags)")
    TAGS_APPROVED = "tags.approved", _("Tags approved")
    TAGS_REMOVED = "tags.removed", _("Tags removed")
    MODEL_PROMOTED = "model.promoted", _("Model promoted")
    IMPORT_FINISHED = "import.finished", _("Import finished")


def default_webhook_events() -> list[str]:
    """What a hook registered without a choice hears: what every hook heard before
    there were other events."""
    return [WebhookEvent.TAGS_CHANGED.value]


class Webhook(models.Model):
    url = models.URLField(max_length=2000)
    # The event types this hook receives (values of WebhookEvent).
    events = models.JSONField(default=default_webhook_events)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    # Goes up whenever the URL changes: a delivery created for an earlier version
    # is cancelled instead of sent to the new address.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        # The webhook was deactivated or re-pointed before it could be sent.
        CANCELLED = "cancelled", _("Cancelled")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # Where and for which version of the webhook it was created.
    url = models.CharField(max_length=2000, blank=True)
    webhook_version = models.PositiveIntegerField(default=1)
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"


class NotifiedTags(models.Model):
    """A product's approved tags as the last `tags.approved` / `tags.removed`
    notification knew them: the next one tells what was added and taken away since."""

    product = models.OneToOneField(
        "annotation.Product", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    tags = models.JSONField(default=list)

    class Meta:
        verbose_name = _("notified tag set")
        verbose_name_plural = _("notified tag sets")

    def __str__(self) -> str:
        return f"{self.product_id}: {len(self.tags)} tags"

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from annotation.models.catalog import Product


class QueueEntry(models.Model):
    """A product waiting for review, its priority, and who holds it now."""

    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain", _("The model is unsure")
        RARE_TAG = "rare_tag", _("Likely carries a rare tag")
        NEW_PRODUCT = "new_product", _("New product, not scored yet")
        EXPLORATION = "exploration", _("Exploration (random)")
        DIVERSE = "diverse", _("Diverse sample (cold start)")
        OVERLAP = "overlap", _("Second opinion (agreement)")
        POSSIBLE_MISTAKE = (
            "possible_mistake",
            _("Possible mistake: the model contradicts a decision"),
        )

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="queue_entry")
    priority = models.FloatField(default=0.0)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.NEW_PRODUCT)
    strategy = models.CharField(max_length=50, blank=True)
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL
    )
    leased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leases",
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    reviews_needed = models.PositiveSmallIntegerField(default=1)
    reviews_done = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ranked_at = models.DateTimeField(null=True, blank=True)
    # Why the entry is back in the queue, for the product page: for a possible
    # mistake, the decisions the model contradicts (training.services.mistakes).
    detail = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["completed_at", "-priority", "id"], name="queue_next_idx"),
            models.Index(fields=["leased_by", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} p={self.priority:.3f}"


class QueueSkip(models.Model):
    """A reviewer skipped a product: it is not served back to them for the skip
    cooldown (queue.rules.SKIP_COOLDOWN). One row per reviewer and product, so
    every skipper's cooldown holds however many others skip it too."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    skipped_at = models.DateTimeField()

    class Meta:
        verbose_name = _("queue skip")
        verbose_name_plural = _("queue skips")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Also the index the claim's NOT EXISTS probes (user, product).
            models.UniqueConstraint(fields=["user", "product"], name="queue_skip_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} skipped {self.product_id} at {self.skipped_at:%Y-%m-%d %H:%M}"

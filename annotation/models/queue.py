from django.conf import settings
from django.db import models

from annotation.models.catalog import Product


class QueueEntry(models.Model):
    """A product waiting for review, its priority, and who holds it now."""

    class Reason(models.TextChoices):
        UNCERTAIN = "uncertain", "The model is unsure"
        RARE_TAG = "rare_tag", "Likely carries a rare tag"
        NEW_PRODUCT = "new_product", "New product, not scored yet"
        EXPLORATION = "exploration", "Exploration (random)"
        DIVERSE = "diverse", "Diverse sample (cold start)"
        OVERLAP = "overlap", "Second opinion (agreement)"

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
    # Not served straight back to whoever skipped it.
    skipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    skipped_at = models.DateTimeField(null=True, blank=True)
    reviews_needed = models.PositiveSmallIntegerField(default=1)
    reviews_done = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ranked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["completed_at", "-priority", "id"], name="queue_next_idx"),
            models.Index(fields=["leased_by", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} p={self.priority:.3f}"


class ProjectSettings(models.Model):
    """Project-wide knobs admins change at run time (one row)."""

    queue_strategy = models.CharField(max_length=50, default="default")
    exploration_share = models.FloatField(default=0.1)
    overlap_share = models.FloatField(default=0.0)
    overlap_reviewers = models.PositiveSmallIntegerField(default=2)
    auto_retrain_after = models.PositiveIntegerField(
        default=settings.TAGGER_AUTO_RETRAIN_AFTER,
        help_text="Retrain after this many new reviews since the last version; 0 turns it off.",
    )
    auto_promote = models.BooleanField(default=True)
    promote_margin = models.FloatField(default=settings.TAGGER_PROMOTE_MARGIN)
    lease_seconds = models.PositiveIntegerField(default=settings.TAGGER_LEASE_SECONDS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "project settings"

    def __str__(self) -> str:
        return "Project settings"

    @classmethod
    def load(cls) -> "ProjectSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

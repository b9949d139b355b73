from django.conf import settings
from django.db import models

from annotation.models.catalog import Product, Tag


class Suggestion(models.Model):
    """A tag the model proposed for a product, as scored by one model version."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="suggestions")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="suggestions")
    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="suggestions"
    )
    score = models.FloatField()
    # Above the tag's own threshold (after single-valued facet decisions).
    selected = models.BooleanField(default=False)
    # [[start, end], ...] character spans of Product.normalized_text.
    evidence = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "tag", "model_version"], name="suggestion_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["model_version", "product"]),
            # The bulk page lists a tag's products best score first.
            models.Index(
                fields=["tag", "model_version", "-score", "product"],
                name="suggestion_tag_rank_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.tag_id} {self.score:.2f}"


class ProductTag(models.Model):
    """The current decided state of one tag on one product."""

    class State(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        HUMAN = "human", "Human"
        IMPORT = "import", "Import"
        AUTO = "auto", "Auto"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="product_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="product_tags")
    state = models.CharField(max_length=16, choices=State.choices)
    source = models.CharField(max_length=16, choices=Source.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField()
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL
    )
    score = models.FloatField(null=True, blank=True)
    # Export walks rows in change order with a cursor over (updated_at, id).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "tag"], name="product_tag_unique"),
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"]),
            models.Index(fields=["tag", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.tag_id} {self.state}"


class ReviewEvent(models.Model):
    """Append-only audit of every decision. Never updated in place, except
    when a tag merge moves history to the surviving tag."""

    class Action(models.TextChoices):
        ACCEPT = "accept", "Accepted a suggestion"
        ADD = "add", "Added a tag"
        REJECT = "reject", "Rejected a suggestion"
        REMOVE = "remove", "Removed a tag"
        SKIP = "skip", "Skipped the product"
        UNDO = "undo", "Undid a decision"
        IMPORT = "import", "Imported"
        BULK_ACCEPT = "bulk_accept", "Bulk accepted"
        BULK_REJECT = "bulk_reject", "Bulk rejected"
        MERGE = "merge", "Moved by a tag merge"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="review_events")
    tag = models.ForeignKey(
        Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    # The state before and after, so an undo can restore it exactly.
    previous_state = models.CharField(max_length=16, blank=True)
    new_state = models.CharField(max_length=16, blank=True)
    # The suggestion as the reviewer saw it.
    score = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL
    )
    # One submit groups its decisions; undo reverses a whole submit.
    submission = models.UUIDField(null=True, blank=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.tag_id} on {self.product_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("ReviewEvent is append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

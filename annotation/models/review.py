from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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
        verbose_name = _("suggestion")
        verbose_name_plural = _("suggestions")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["product", "tag", "model_version"], name="suggestion_unique"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
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
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        HUMAN = "human", _("Human")
        IMPORT = "import", _("Import")
        AUTO = "auto", _("Auto")

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
        verbose_name = _("tag decision")
        verbose_name_plural = _("tag decisions")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["product", "tag"], name="product_tag_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["updated_at", "id"]),
            models.Index(fields=["tag", "state"]),
        ]

    # The columns one decision writes: what bulk writes and update_fields list
    # (updated_at, auto_now, is added by callers that save through the ORM).
    DECISION_FIELDS = ("state", "source", "decided_by", "decided_at", "model_version", "score")

    def __str__(self) -> str:
        return f"{self.product_id} {self.tag_id} {self.state}"

    def copy_decision(self, other: "ProductTag") -> None:
        """Take over another row's decision (who, when, what, and the model's part)."""
        for name in self.DECISION_FIELDS:
            field = self._meta.get_field(name)
            assert isinstance(field, models.Field), "decision fields are concrete fields"
            setattr(self, field.attname, getattr(other, field.attname))


class ReviewEvent(models.Model):
    """Append-only audit of every decision. Never updated in place, except
    when a tag merge moves history to the surviving tag (and an unmerge moves
    it back)."""

    class Action(models.TextChoices):
        ACCEPT = "accept", _("Accepted a suggestion")
        ADD = "add", _("Added a tag")
        REJECT = "reject", _("Rejected a suggestion")
        REMOVE = "remove", _("Removed a tag")
        SKIP = "skip", _("Skipped the product")
        UNDO = "undo", _("Undid a decision")
        IMPORT = "import", _("Imported")
        BULK_ACCEPT = "bulk_accept", _("Bulk accepted")
        BULK_REJECT = "bulk_reject", _("Bulk rejected")
        MERGE = "merge", _("Moved by a tag merge")
        UNMERGE = "unmerge", _("Moved back by an unmerge")

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
        verbose_name = _("review event")
        verbose_name_plural = _("review events")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.tag_id} on {self.product_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("ReviewEvent is append-only")
        super().save(*args, **kwargs)

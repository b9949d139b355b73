from django.conf import settings
from django.db import models


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    keep_valid = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # [{"line": int, "reason": str}, ...]
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source} ({self.status})"


class Product(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=255, blank=True)
    category_path = models.CharField(max_length=1000, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=8, blank=True)
    # title + description after cleaning: what the model reads.
    normalized_text = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, db_index=True)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    # Frozen evaluation set: never trained on, so model versions compare fairly.
    is_eval = models.BooleanField(default=False, db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Bumped whenever any of the product's tag decisions changes (including a
    # decision being undone): the export walks products in this order.
    tags_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["tags_updated_at", "id"], name="product_tags_changed_idx")]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title[:60]}"


class TagGroup(models.Model):
    """A facet such as colour or material."""

    name = models.CharField(max_length=100, unique=True)
    display_name_en = models.CharField(max_length=200, blank=True)
    display_name_zh = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    multi_valued = models.BooleanField(
        default=True, help_text="Off: a product carries at most one tag of this facet."
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.display_name_en or self.name


class Tag(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DEPRECATED = "deprecated", "Deprecated"

    group = models.ForeignKey(TagGroup, on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=200)
    display_name_en = models.CharField(max_length=200, blank=True)
    display_name_zh = models.CharField(max_length=200, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group__position", "group__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="tag_unique_in_group"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        """The `facet:value` form used in files and by the model."""
        return f"{self.group.name}:{self.name}"

    @property
    def label(self) -> str:
        return self.display_name_en or self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

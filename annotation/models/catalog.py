from collections.abc import Callable, Iterable
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from training.ml.text import product_text


class ImportBatch(models.Model):
    """One import: its outcome, and while an uploaded file waits for or runs in
    a worker, the source of truth for its progress (the import page polls it)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Stage(models.TextChoices):
        READING = "reading", _("Reading and checking the rows")
        SAVING = "saving", _("Saving the products")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    source = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    keep_valid = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The uploaded file in the upload storage while the import waits or runs;
    # emptied once the import finishes and the file is deleted.
    stored_file = models.CharField(max_length=500, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    # Percent of the file read (0-100); saving happens in one transaction, so
    # it has no finer progress to show.
    progress = models.FloatField(default=0.0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # [{"line": int, "reason": str}, ...]: the problem with the file as a whole
    # first, if any, then the first TAGGER_IMPORT_MAX_ERRORS row errors.
    errors = models.JSONField(default=list, blank=True)
    # Row errors counted but not kept in `errors`.
    errors_omitted = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the import added to the taxonomy: written in its write transaction
    # (importing.tags.TagResolver notes each facet and tag it creates), so an
    # import that rolls back keeps nothing, and a facet or tag another import
    # created is never listed here.
    created_facets: "models.ManyToManyField[TagGroup]" = models.ManyToManyField(
        "TagGroup",
        blank=True,
        related_name="created_by_imports",
        verbose_name=_("facets created"),
    )
    created_tags: "models.ManyToManyField[Tag]" = models.ManyToManyField(
        "Tag", blank=True, related_name="created_by_imports", verbose_name=_("tags created")
    )
    # False for imports written before the two lists were kept: what they created
    # is worked out from their history notes instead (importing.created).
    created_recorded = models.BooleanField(
        default=False, verbose_name=_("facets and tags created recorded")
    )

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering: ClassVar[list[str]] = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


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
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering: ClassVar[list[str]] = ["id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["tags_updated_at", "id"], name="product_tags_changed_idx")
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.title[:60]}"

    @property
    def model_text(self) -> str:
        """What the model reads (and evidence spans index): the cleaned title and
        description, as stored at import, or built the same way when missing."""
        return self.normalized_text or product_text(self.title, self.description)


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
    # The facet whose tag names a product's category (at most one): category-aware
    # proposals learn which facets apply within each of its tags. When no facet is
    # marked, a facet named "category" plays the part (CategoryFacet, below).
    is_category = models.BooleanField(
        default=False, help_text="Its tag names the product's category."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("facet")
        verbose_name_plural = _("facets")
        ordering: ClassVar[list[str]] = ["position", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["is_category"],
                condition=models.Q(is_category=True),
                name="one_category_facet",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.display_name_en or self.name


def follow_merges(tag: "Tag", lookup: Callable[[int], "Tag | None"]) -> "Tag | None":
    """The active tag `tag` now lives in: itself when active, else the end of its
    chain of merges; None when the chain ends at a deprecated tag that was not
    merged (or loops). `lookup` finds a tag by id."""
    seen = {tag.pk}
    current: Tag | None = tag
    while current is not None and not current.is_active:
        target_id = current.merged_into_id
        if target_id is None or target_id in seen:
            return None
        seen.add(target_id)
        current = lookup(target_id)
    return current


class TagQuerySet(models.QuerySet["Tag"]):
    def current_ids(self, keys: Iterable[str]) -> dict[str, int]:
        """The tag vocabulary as it stands now: each `facet:value` key mapped to the
        id of the active tag that carries it, following merges (a key merged
        away maps to its merge target) and renames (an old name is an alias).
        Keys of unknown tags, and of deprecated tags never merged, are left
        out. Scoring and ranking both read a model's vocabulary through this."""
        tags = {tag.pk: tag for tag in self.select_related("group")}
        by_key: dict[str, Tag] = {tag.key: tag for tag in tags.values()}
        # A renamed tag keeps its old name as an alias: a model trained before
        # the rename still knows it by the old key.
        by_alias: dict[tuple[str, str], Tag] = {}
        for tag in tags.values():
            for alias in tag.aliases or []:
                by_alias.setdefault((tag.group.name, str(alias).casefold()), tag)
        mapping: dict[str, int] = {}
        for key in keys:
            found = by_key.get(key)
            if found is None:
                facet, _sep, name = key.partition(":")
                found = by_alias.get((facet, name.casefold()))
            target = follow_merges(found, tags.get) if found is not None else None
            if target is not None:
                mapping[key] = target.pk
        return mapping


class Tag(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DEPRECATED = "deprecated", _("Deprecated")

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

    objects = TagQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering: ClassVar[list[str]] = ["group__position", "group__name", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
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

    def written_forms(self) -> list[str]:
        """What a text may call the tag: its name, its aliases and its display
        names, stripped, each once, the name first (the model's name matches
        and the alias review both read them)."""
        forms = [self.name, *(self.aliases or []), self.display_name_en, self.display_name_zh]
        return list(dict.fromkeys(f.strip() for f in forms if isinstance(f, str) and f.strip()))

    def merge_target(self) -> "Tag | None":
        """The active tag a decision about this one applies to: itself, or where
        its merges lead; None when it was deprecated without a merge."""
        return follow_merges(
            self, lambda pk: Tag.objects.select_related("group").filter(pk=pk).first()
        )


class CategoryFacet(models.Model):
    """An admin's word on whether a facet applies within a category (a tag of the
    category facet). It wins over the schema the model learned from approved tags
    (annotation.services.taxonomy.categories)."""

    category = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="facet_overrides")
    facet = models.ForeignKey(TagGroup, on_delete=models.CASCADE, related_name="category_overrides")
    allowed = models.BooleanField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("category facet rule")
        verbose_name_plural = _("category facet rules")
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["category", "facet"], name="category_facet_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category_id} {self.facet_id} {'allowed' if self.allowed else 'excluded'}"

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from training.stages import stage_label


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def active(self) -> "ModelVersion | None":
        """The one version whose suggestions the catalogue shows (None before any)."""
        return self.filter(status=ModelVersion.Status.ACTIVE).first()


class ModelVersion(models.Model):
    class Mode(models.TextChoices):
        ZERO_SHOT = "zero_shot", _("Zero-shot (no labels)")
        HEAD = "head", _("Frozen encoder + head")
        FULL = "full", _("Full fine-tune")
        # Predictions made outside and imported as suggestions (base_model: their name).
        EXTERNAL = "external", _("External predictions")

    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        READY = "ready", _("Ready")
        ACTIVE = "active", _("Active")
        FAILED = "failed", _("Failed")
        ARCHIVED = "archived", _("Archived")
        # Imported predictions: no model files, so never scored, measured or promoted.
        EXTERNAL = "external", _("External")

    mode = models.CharField(max_length=16, choices=Mode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    base_model = models.CharField(max_length=500)
    artifact_path = models.CharField(max_length=1000, blank=True)
    tag_vocab = models.JSONField(default=list, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    # The category schema learned from the training products' approved tags
    # (training.services.categories): {"facet", "level", "min_support",
    # "allowed": {category key: [facet, ...]}, "support": {category key: n}};
    # {} when the taxonomy names no category facet.
    category_schema = models.JSONField(default=dict, blank=True)
    # Metrics on the frozen evaluation set.
    metrics = models.JSONField(default=dict, blank=True)
    train_size = models.PositiveIntegerField(default=0)
    train_fingerprint = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # At most one active version at any time.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_active_model_version",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.pk} {self.mode} ({self.status})"

    @property
    def micro_f1(self) -> float | None:
        return self.metrics.get("micro_f1")

    @property
    def macro_f1(self) -> float | None:
        return self.metrics.get("macro_f1")


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    mode = models.CharField(max_length=16, choices=ModelVersion.Mode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    model_version = models.OneToOneField(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="run"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # True while queued or running, NULL once finished: the unique constraint
    # then lets the database itself refuse a second training in flight.
    in_flight = models.BooleanField(null=True, default=True, editable=False)

    class Meta:
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["in_flight"], name="one_training_in_flight"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.status} {self.progress:.0f}%"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def stage_display(self) -> str:
        """The stage in the reader's language (the row stores a key)."""
        return stage_label(self.stage)


class CachedEmbedding(models.Model):
    """One text's encoder embedding in the shared cache (TAGGER_EMBEDDING_CACHE =
    database): every worker, on any machine, finds what another one embedded.
    Keyed by the encoder's cache space (`training.ml.embeddings.space_for`: its
    identity, max length and precision) and the sha256 of the text; the vector is
    raw float32 bytes (1.5 KB for a 384-dimension encoder)."""

    pk = models.CompositePrimaryKey("space", "text_hash")
    space = models.CharField(max_length=64)
    text_hash = models.CharField(max_length=64)
    vector = models.BinaryField()

    class Meta:
        verbose_name = _("cached embedding")
        verbose_name_plural = _("cached embeddings")

    def __str__(self) -> str:
        return f"{self.space}:{self.text_hash[:12]}"

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    mistake_share = models.FloatField(
        default=0.05,
        help_text="Most of the reviewed tag decisions sent back to the queue as possible "
        "mistakes (those the model contradicts most confidently); 0 turns it off.",
    )
    target_f1 = models.FloatField(
        default=0.9,
        help_text="The micro-F1 the dashboard's stopping forecast counts the labels to.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("project settings")
        verbose_name_plural = _("project settings")

    def __str__(self) -> str:
        return "Project settings"

    @classmethod
    def load(cls) -> "ProjectSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from annotation.models.catalog import Tag


class TagMerge(models.Model):
    """What one tag merge moved, so that an unmerge can move back exactly that.

    Written by `merge_tags` in the merge's transaction. Decisions are recorded
    as {"state", "source", "decided_by", "decided_at", "model_version",
    "score"} (ids for the foreign keys, ISO time). Merges made before this
    record existed have none: their unmerge goes only as far as the audit
    trail allows (see annotation.services.taxonomy.unmerge)."""

    source = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="merges_out")
    into = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="merges_in")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The source tag's status before the merge deprecated it.
    source_status = models.CharField(max_length=16)
    # Ids of the source's ProductTag rows that moved onto `into` (no decision there).
    moved_decisions = models.JSONField(default=list, blank=True)
    # Products that carried both tags: [{"product": id, "source": decision,
    # "target_before": decision or null (null: the target's decision won)}].
    folded_decisions = models.JSONField(default=list, blank=True)
    # Ids of the source's ReviewEvent rows the merge moved onto `into`.
    moved_events = models.JSONField(default=list, blank=True)
    # Suggestions: ids moved onto `into`; source suggestions dropped because
    # `into` had one for the same product and version ({"product",
    # "model_version", "score", "selected", "evidence"}); and the kept ones the
    # merge overwrote with the source's higher score ({"id", "before", "after"}).
    moved_suggestions = models.JSONField(default=list, blank=True)
    dropped_suggestions = models.JSONField(default=list, blank=True)
    replaced_suggestions = models.JSONField(default=list, blank=True)
    # Tags that had been merged into the source and were re-pointed at `into`.
    redirected_tags = models.JSONField(default=list, blank=True)
    # The source's names the merge added to `into`'s aliases.
    added_aliases = models.JSONField(default=list, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("tag merge")
        verbose_name_plural = _("tag merges")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"merge of tag {self.source_id} into {self.into_id}"

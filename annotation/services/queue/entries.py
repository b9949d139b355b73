"""Creating entries, writing priorities, tidying leases and counting."""

import logging
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotation.models import Product, ProjectSettings, QueueEntry
from annotation.services.queue.bulk import WRITE_CHUNK, insert_entries, update_priorities
from annotation.services.queue.common import chunks, free, reviews_needed_for
from training.models import ModelVersion

logger = logging.getLogger(__name__)


def ensure_queue_entries(product_ids: Iterable[int] | None = None) -> int:
    """Create a queue entry for every unreviewed product that lacks one (all of them,
    or only those in product_ids). Evaluation-set products are queued like any
    other: they need labels too, they are just never trained on. Returns the
    number of entries inserted."""
    settings = ProjectSettings.load()
    missing = Product.objects.filter(reviewed_at__isnull=True, queue_entry__isnull=True)
    if product_ids is None:
        ids = list(missing.order_by("pk").values_list("pk", flat=True))
    else:
        wanted = sorted(set(product_ids))
        ids = []
        for chunk in chunks(wanted):
            ids += missing.filter(pk__in=chunk).values_list("pk", flat=True)
    created = 0
    for chunk in chunks(ids, WRITE_CHUNK):
        needed = [reviews_needed_for(pid, settings) for pid in chunk]
        with transaction.atomic():
            created += insert_entries(list(chunk), needed)
    if created:
        logger.info("queued %d products", created)
    return created


def release_expired_leases() -> int:
    """Clear leases that ran out. Claims already treat them as free; this keeps
    the rows and the queue statistics honest."""
    now = timezone.now()
    count = QueueEntry.objects.filter(leased_by__isnull=False, lease_expires_at__lte=now).update(
        leased_by=None, lease_expires_at=None
    )
    count += QueueEntry.objects.filter(
        leased_by__isnull=False, lease_expires_at__isnull=True
    ).update(leased_by=None)
    if count:
        logger.info("released %d expired leases", count)
    return count


def apply_ranking(
    priorities: Mapping[int, tuple[float, str]],
    *,
    strategy: str,
    model_version: ModelVersion | None,
) -> int:
    """Write new priorities (product id -> (priority, reason)) onto the pending
    entries; completed entries and unknown products are ignored. Leases are left
    alone, so a product someone is reviewing stays theirs. Returns the number of
    entries updated."""
    valid = set(QueueEntry.Reason.values)
    bad = {reason for _, reason in priorities.values()} - valid
    if bad:
        raise ValueError(f"unknown queue reason(s) {sorted(bad)}; expected one of {sorted(valid)}")
    now = timezone.now()
    version_id = model_version.pk if model_version is not None else None
    rows = sorted((int(pid), float(p), reason) for pid, (p, reason) in priorities.items())
    updated = 0
    # One transaction per chunk: a long re-rank never blocks claims for long.
    for chunk in chunks(rows, WRITE_CHUNK):
        with transaction.atomic():
            updated += update_priorities(chunk, strategy, version_id, now)
    # A product waiting for its second opinion keeps saying so.
    QueueEntry.objects.filter(completed_at__isnull=True, reviews_done__gt=0).update(
        reason=QueueEntry.Reason.OVERLAP
    )
    logger.info("ranked %d queue entries with %s", updated, strategy)
    return updated


def queue_stats() -> dict:
    """Counts for the dashboard: pending (free to claim), leased (live leases),
    completed, and the open (pending or leased) entries by reason."""
    now = timezone.now()
    open_entries = QueueEntry.objects.filter(completed_at__isnull=True)
    by_reason = {
        row["reason"]: row["n"]
        for row in open_entries.values("reason").annotate(n=Count("pk")).order_by("reason")
    }
    return {
        "pending": open_entries.filter(free(now)).count(),
        "leased": open_entries.filter(leased_by__isnull=False, lease_expires_at__gt=now).count(),
        "completed": QueueEntry.objects.filter(completed_at__isnull=False).count(),
        "by_reason": by_reason,
    }

"""Creating entries, writing priorities, tidying leases and counting."""

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from annotation.models import Product, ProjectSettings, QueueEntry
from annotation.services.queue.bulk import WRITE_CHUNK, insert_entries, update_priorities
from annotation.services.queue.rules import chunks, free, reviews_needed_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Priority:
    """Where a ranking puts one product, and why (shown to reviewers)."""

    value: float
    reason: QueueEntry.Reason


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
    priorities: Mapping[int, Priority],
    *,
    strategy: str,
    model_version_id: int | None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write new priorities (product id -> Priority) onto the pending entries;
    completed entries and unknown products are ignored. Leases are left alone, so
    a product someone is reviewing stays theirs. Returns the number of entries
    updated. A reason that is not a QueueEntry.Reason is a programming error
    (ValueError). `on_progress(n)` hears each committed chunk of n priorities."""
    now = timezone.now()
    rows = sorted(
        (int(pid), float(p.value), QueueEntry.Reason(p.reason).value)
        for pid, p in priorities.items()
    )
    updated = 0
    # One transaction per chunk: a long re-rank never blocks claims for long.
    for chunk in chunks(rows, WRITE_CHUNK):
        with transaction.atomic():
            updated += update_priorities(chunk, strategy, model_version_id, now)
        if on_progress is not None:
            on_progress(len(chunk))
    # A product waiting for its second opinion keeps saying so (a possible
    # mistake sent back for another look keeps its own reason).
    QueueEntry.objects.filter(completed_at__isnull=True, reviews_done__gt=0).exclude(
        reason=QueueEntry.Reason.POSSIBLE_MISTAKE
    ).update(reason=QueueEntry.Reason.OVERLAP)
    logger.info("ranked %d queue entries with %s", updated, strategy)
    return updated


def send_back(
    details: Mapping[int, dict],
    *,
    reason: QueueEntry.Reason,
    strategy: str,
    model_version_id: int | None,
) -> int:
    """Put reviewed products (product id -> why, shown on the product page) back
    at the top of the queue for one more review, in the mapping's order, with
    `reason`. Only completed entries are opened: a product someone holds or that
    is still waiting keeps its place. Returns the number of entries opened."""
    if not details:
        return 0
    now = timezone.now()
    top = (
        QueueEntry.objects.filter(completed_at__isnull=True)
        .order_by("-priority")
        .values_list("priority", flat=True)
        .first()
    ) or 0.0
    opened = 0
    with transaction.atomic():
        for rank, (pid, detail) in enumerate(details.items()):
            opened += QueueEntry.objects.filter(product_id=pid, completed_at__isnull=False).update(
                completed_at=None,
                reviews_needed=F("reviews_done") + 1,
                priority=top + len(details) - rank,
                reason=reason,
                strategy=strategy,
                model_version_id=model_version_id,
                ranked_at=now,
                detail=detail,
            )
    if opened:
        logger.info("sent %d reviewed products back to the queue (%s)", opened, reason)
    return opened


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

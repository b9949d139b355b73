"""Constants and small helpers the queue modules share."""

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from django.db.models import Q

from annotation.models import ProjectSettings, ReviewEvent
from annotation.services import project_settings

# The actions of a review submission: a product counts as reviewed by a user when
# one of these, not undone since, is on record.
REVIEW_ACTIONS = (
    ReviewEvent.Action.ACCEPT,
    ReviewEvent.Action.ADD,
    ReviewEvent.Action.REJECT,
    ReviewEvent.Action.REMOVE,
)
# How long a skipped product stays away from whoever skipped it (unless nothing
# else is left for them).
SKIP_COOLDOWN = timedelta(minutes=30)
# Ids per IN (...) list: well under SQLite's bound-parameter limit.
_CHUNK = 500

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def free(now: datetime) -> Q:
    """Nobody holds the entry: never leased, released, or the lease ran out."""
    return (
        Q(leased_by__isnull=True) | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )


def lease_length(lease_seconds: int | None) -> timedelta:
    seconds = (
        lease_seconds if lease_seconds is not None else project_settings.current().lease_seconds
    )
    return timedelta(seconds=max(int(seconds), 1))


def in_overlap_share(product_id: int, share: float) -> bool:
    """Whether a product belongs to the overlap (second opinion) share: decided by a
    hash of its id, so the choice is stable across runs and processes."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(str(product_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def reviews_needed_for(product_id: int, settings: ProjectSettings) -> int:
    if in_overlap_share(product_id, settings.overlap_share):
        return max(1, settings.overlap_reviewers)
    return 1

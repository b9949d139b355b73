"""The review queue: which product a reviewer gets next, and who holds it.

A claim is a lease (leased_by + lease_expires_at) taken with a conditional UPDATE
that only succeeds while the entry is still free, so two reviewers never hold the
same product, on SQLite as on PostgreSQL. On PostgreSQL the candidate row is also
locked with SKIP LOCKED, so concurrent claims walk past each other instead of
colliding on the top entry. An expired lease is simply free again: nothing has to
run for it to be reclaimed (release_expired_leases only tidies the rows).
"""

from annotation.services.queue.claims import claim_next, complete, release, reopen, skip
from annotation.services.queue.common import (
    REVIEW_ACTIONS,
    SKIP_COOLDOWN,
    chunks,
    in_overlap_share,
)
from annotation.services.queue.entries import (
    apply_ranking,
    ensure_queue_entries,
    queue_stats,
    release_expired_leases,
)

__all__ = [
    "REVIEW_ACTIONS",
    "SKIP_COOLDOWN",
    "apply_ranking",
    "chunks",
    "claim_next",
    "complete",
    "ensure_queue_entries",
    "in_overlap_share",
    "queue_stats",
    "release",
    "release_expired_leases",
    "reopen",
    "skip",
]

"""The review queue: which product a reviewer gets next, and who holds it.

A claim is a lease (leased_by + lease_expires_at) taken with a conditional UPDATE
that only succeeds while the entry is still free, so two reviewers never hold the
same product, on SQLite as on PostgreSQL. On PostgreSQL the candidate row is also
locked with SKIP LOCKED, so concurrent claims walk past each other instead of
colliding on the top entry. An expired lease is simply free again: nothing has to
run for it to be reclaimed (release_expired_leases only tidies the rows).

A lease is also what entitles a submit (hold_for_submit): a review of a product
leased to someone else, or already done, is refused (LeaseConflict) unless an
admin makes it, and reviews_done never exceeds reviews_needed.
"""

from annotation.services.queue.claims import (
    Hold,
    claim_next,
    complete,
    hold_for_submit,
    release,
    reopen,
    skip,
)
from annotation.services.queue.entries import (
    Priority,
    apply_ranking,
    ensure_queue_entries,
    queue_stats,
    release_expired_leases,
    send_back,
)
from annotation.services.queue.rules import (
    REVIEW_ACTIONS,
    SKIP_COOLDOWN,
    chunks,
    in_overlap_share,
)

__all__ = [
    "REVIEW_ACTIONS",
    "SKIP_COOLDOWN",
    "Hold",
    "Priority",
    "apply_ranking",
    "chunks",
    "claim_next",
    "complete",
    "ensure_queue_entries",
    "hold_for_submit",
    "in_overlap_share",
    "queue_stats",
    "release",
    "release_expired_leases",
    "reopen",
    "send_back",
    "skip",
]

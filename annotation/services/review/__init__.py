"""Review decisions: what the review page shows, submit, undo and bulk edits.

The browser UI and the REST API both call these functions. Every decision becomes
a ReviewEvent (append-only); ProductTag holds the current state. Writes for one
product happen under a row lock on that product, and a submit must hold the
product's lease or find it free and still open (queue.hold_for_submit): of two
reviewers submitting the same product at once, one wins and the other gets a
LeaseConflict, so no one's decisions silently overwrite another's.
"""

from annotation.services.review.bulk import bulk_set_tag
from annotation.services.review.decisions import (
    Decision,
    SubmitResult,
    resolve_tag,
)
from annotation.services.review.history import HistoryItem, recent_submissions
from annotation.services.review.state import TagView, group_by_facet, review_state
from annotation.services.review.submit import submit_review
from annotation.services.review.undo import (
    submitted_decisions,
    undo_last_submission,
    undo_submission,
)

__all__ = [
    "Decision",
    "HistoryItem",
    "SubmitResult",
    "TagView",
    "bulk_set_tag",
    "group_by_facet",
    "recent_submissions",
    "resolve_tag",
    "review_state",
    "submit_review",
    "submitted_decisions",
    "undo_last_submission",
    "undo_submission",
]

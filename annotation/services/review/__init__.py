"""Review decisions: what the review page shows, submit, undo and bulk edits.

The browser UI and the REST API both call these functions. Every decision becomes
a ReviewEvent (append-only); ProductTag holds the current state. Writes for one
product happen under a row lock on that product, so two reviewers submitting the
same product at once are applied one after the other: the last write wins and
both submissions stay on record.
"""

from annotation.services.review.bulk import bulk_set_tag
from annotation.services.review.common import (
    Decision,
    SubmitResult,
    active_model_version,
    resolve_tag,
)
from annotation.services.review.state import TagView, group_by_facet, review_state
from annotation.services.review.submit import submit_review
from annotation.services.review.undo import undo_last_submission

__all__ = [
    "Decision",
    "SubmitResult",
    "TagView",
    "active_model_version",
    "bulk_set_tag",
    "group_by_facet",
    "resolve_tag",
    "review_state",
    "submit_review",
    "undo_last_submission",
]

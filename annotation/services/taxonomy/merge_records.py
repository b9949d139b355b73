"""How a merge writes what it moved into its TagMerge record, and how an
unmerge reads it back: decisions and suggestions as plain JSON values."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from annotation.models import ProductTag, Suggestion

# Ids per `pk__in` query: SQLite caps the variables of one statement.
CHUNK = 500


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def decision_values(row: ProductTag) -> dict[str, Any]:
    """One decision (ProductTag.DECISION_FIELDS) as JSON values."""
    return {
        "state": row.state,
        "source": row.source,
        "decided_by": row.decided_by_id,
        "decided_at": row.decided_at.isoformat(),
        "model_version": row.model_version_id,
        "score": row.score,
    }


def apply_decision(row: ProductTag, values: dict[str, Any]) -> None:
    """Set a row's decision fields from decision_values() output. A user or
    model version deleted since is left empty (their rows are gone)."""
    row.state = values["state"]
    row.source = values["source"]
    row.decided_by_id = values["decided_by"]
    row.decided_at = datetime.fromisoformat(values["decided_at"])
    row.model_version_id = values["model_version"]
    row.score = values["score"]


def same_decision(row: ProductTag, values: dict[str, Any]) -> bool:
    """Whether the row still holds exactly this decision (nobody decided since)."""
    return decision_values(row) == values


def suggestion_values(suggestion: Suggestion) -> dict[str, Any]:
    """What a merge may overwrite on a kept suggestion."""
    return {
        "score": suggestion.score,
        "selected": suggestion.selected,
        "evidence": suggestion.evidence,
    }


def dropped_suggestion(suggestion: Suggestion) -> dict[str, Any]:
    """A suggestion the merge deleted, enough to create it again."""
    return {
        "product": suggestion.product_id,
        "model_version": suggestion.model_version_id,
        **suggestion_values(suggestion),
    }

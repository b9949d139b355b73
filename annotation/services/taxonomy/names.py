"""Facet, tag and alias names: how they are cleaned and what makes one
unacceptable. Shared by the taxonomy file import and the tag lifecycle."""

from typing import Any

from annotation.errors import TaxonomyError
from training.ml.text import clean_text

MAX_FACET = 100
MAX_TAG = 200


def clean_name(value: Any, what: str, limit: int) -> str:
    """The cleaned name; TaxonomyError when it is not text, empty, contains
    ':' or is over `limit` characters. `what` names it in the message."""
    if not isinstance(value, str):
        raise TaxonomyError(f"{what} must be text")
    name = clean_text(value)
    if not name:
        raise TaxonomyError(f"{what} is empty")
    if ":" in name:
        raise TaxonomyError(f"{what} {name!r} contains ':', which separates facet and value")
    if len(name) > limit:
        raise TaxonomyError(f"{what} {name[:40]!r}… is over {limit} characters")
    return name


def clean_aliases(values: Any, own_name: str) -> list[str]:
    """The cleaned aliases, de-duplicated case-insensitively, blanks and the
    tag's own name dropped; TaxonomyError when one is not a valid name."""
    if not isinstance(values, list):
        raise TaxonomyError("aliases must be a list of names")
    aliases: list[str] = []
    seen = {own_name.casefold()}
    for value in values:
        if isinstance(value, str) and not clean_text(value):
            continue
        alias = clean_name(value, "alias", MAX_TAG)
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    return aliases

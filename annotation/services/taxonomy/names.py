"""Facet, tag and alias names: how they are cleaned and what makes one
unacceptable. Shared by the taxonomy file import, the tag lifecycle and the
forms and API views that create facets.

Messages are English templates (TaxonomyError.localized translates them);
gettext_noop marks them for the catalogue."""

import unicodedata
from typing import Any

from django.utils.translation import gettext_noop

from annotation.errors import TaxonomyError
from training.ml.text import clean_text

MAX_FACET = 100
MAX_TAG = 200


def clean_name(value: Any, what: str, limit: int) -> str:
    """The cleaned name; TaxonomyError when it is not text, empty, contains
    ':' or is over `limit` characters. `what` names it in the message."""
    terms = ("what",)
    if not isinstance(value, str):
        raise TaxonomyError(gettext_noop("%(what)s must be text"), {"what": what}, terms=terms)
    name = clean_text(value)
    if not name:
        raise TaxonomyError(gettext_noop("%(what)s is empty"), {"what": what}, terms=terms)
    if ":" in name:
        raise TaxonomyError(
            gettext_noop("%(what)s %(name)s contains ':', which separates facet and value"),
            {"what": what, "name": repr(name)},
            terms=terms,
        )
    if len(name) > limit:
        raise TaxonomyError(
            gettext_noop("%(what)s %(name)s… is over %(limit)d characters"),
            {"what": what, "name": repr(name[:40]), "limit": limit},
            terms=terms,
        )
    return name


# Between the words of a facet name: one of these, never two in a row.
FACET_SEPARATORS = frozenset(" _-/")


def is_facet_name(name: str) -> bool:
    """Whether `name` follows the rule for facet names created from now on:
    letters of any script (with their combining marks), digits, and single
    separators (a space, _, - or /) between them; no other punctuation, no
    leading, trailing or doubled separator. A facet name is the first half of
    every `facet:value` key the API and the exports carry, so it stays plain.
    The shared catalogues' facets all pass (`color`, `ideal for`,
    `precious/artificial jewellery`, `一级类目`, `适用对象`)."""
    after_separator = True  # nothing may start with a separator or a mark
    for char in name:
        kind = unicodedata.category(char)[0]
        if kind in "LN":
            after_separator = False
        elif kind == "M" and not after_separator:
            continue
        elif char in FACET_SEPARATORS and not after_separator:
            after_separator = True
        else:
            return False
    return bool(name) and not after_separator


def facet_name_problem(name: str) -> TaxonomyError | None:
    """Why `name` breaks the rule for facet names (is_facet_name), as the
    error that says so and names the rule; None when it follows it."""
    if ":" in name:
        return TaxonomyError(
            gettext_noop("A facet name cannot contain ':', which separates facet and value.")
        )
    if not is_facet_name(name):
        return TaxonomyError(
            gettext_noop(
                "“%(name)s” is not a valid facet name: use letters (any script) and digits, "
                "with single spaces, _, - or / between words, and no other punctuation."
            ),
            {"name": name},
        )
    return None


def check_facet_name(name: str) -> str:
    """`name` when it follows the rule for facet names; TaxonomyError naming
    the rule when it does not (facet_name_problem). Every way of creating a
    facet but a catalogue import checks it (the taxonomy page and the Django
    admin, the REST API, taxonomy files); an import creates any facet its file
    names and flags the irregular ones (importing.created)."""
    problem = facet_name_problem(name)
    if problem is not None:
        raise problem
    return name


def clean_aliases(values: Any, own_name: str) -> list[str]:
    """The cleaned aliases, de-duplicated case-insensitively, blanks and the
    tag's own name dropped; TaxonomyError when one is not a valid name."""
    if not isinstance(values, list):
        raise TaxonomyError(gettext_noop("aliases must be a list of names"))
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

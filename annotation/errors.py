"""The annotation app's domain errors: a request that the rules refuse, with a
message fit to show the person who made it. Views, API handlers, admin
actions and management commands catch these (never a bare ValueError), so a
genuine bug still surfaces as a 500 instead of a polite message."""

from collections.abc import Mapping

from django.utils.translation import gettext


class ReviewError(Exception):
    """A review decision the rules refuse: an unknown or deprecated-and-unmerged
    tag, two contradicting decisions about one tag, two tags of a single-valued
    facet, unknown products in a bulk edit. Nothing was written."""


class LeaseConflict(ReviewError):
    """A review submit for a product that is not the submitter's to review now:
    someone else holds its lease, or it has had all the reviews it needs (while
    the submitter's own lease had run out, say). Nothing was written. `holder`
    is the user holding the lease, None when the product is done instead."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class TaxonomyError(Exception):
    """A taxonomy change or taxonomy file the rules refuse: a malformed file or
    name, a name or alias that would lead to two tags, a merge across facets or
    into a deprecated tag, a tag deprecated twice. Nothing was written.

    `str(error)` is the English message (the API, the command line and the
    logs); `localized()` is the same message in the active language, for the
    pages. The message is a %-format template with `params` (its msgid in the
    translation catalogue); the params named in `terms` are words translated
    too (a generic "the name", "alias")."""

    def __init__(
        self,
        message: str,
        params: Mapping[str, object] | None = None,
        *,
        terms: tuple[str, ...] = (),
    ) -> None:
        self.template = message
        self.params = dict(params or {})
        self.terms = terms
        super().__init__(message % self.params if params else message)

    def localized(self) -> str:
        if not self.params:
            return gettext(self.template)
        params = {
            name: gettext(value) if name in self.terms and isinstance(value, str) else value
            for name, value in self.params.items()
        }
        return gettext(self.template) % params


class ImportFileError(Exception):
    """A catalogue file that cannot be read as a whole (empty, binary, corrupt
    gzip, a header without an id or title column, …). The import service
    records it on the ImportBatch as a failure; `line` is 0 when no line is to
    blame."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class WebhookError(Exception):
    """A webhook registration or change the rules refuse: a URL that is not
    http(s), carries credentials or control characters, does not resolve, or
    resolves to an internal address; a secret too short or too long. Nothing
    was written."""

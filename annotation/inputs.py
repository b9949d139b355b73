"""Reading untrusted text from a URL, a query or a cursor: ids in ASCII digits
only and within the database's range, and no control characters.

`str.isdigit()` accepts "²" and `int()` accepts "٣" (Arabic-Indic three);
PostgreSQL refuses NUL in text and integers beyond 64 bits. These helpers turn
such input into a "not a valid id" answer instead of an exception deep in a
query."""

import re
import uuid
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from django.utils.timezone import get_current_timezone, is_naive, make_aware

# The range of a BigAutoField (and of PostgreSQL's bigint).
MAX_ID = 2**63 - 1
_ASCII_ID = re.compile(r"[0-9]{1,19}")
# C0 controls and DEL. Tab, line feed and carriage return are ordinary in text
# (a pasted search), so they are allowed in queries but not in paths.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def parse_id(text: object) -> int | None:
    """The positive database id `text` spells in ASCII digits, or None."""
    if not isinstance(text, str) or not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_uuid(text: str) -> uuid.UUID | None:
    """A UUID in any of its usual spellings, or None (empty or malformed)."""
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def has_control_characters(text: str, *, allow_breaks: bool = True) -> bool:
    """Whether `text` holds a control character (NUL, ESC, DEL, …); tab and
    line breaks count only when `allow_breaks` is False."""
    pattern = _CONTROL if allow_breaks else _CONTROL_OR_BREAK
    return pattern.search(text) is not None


def parse_timestamp(text: str) -> datetime | None:
    """The moment an ISO 8601 date-time names, aware (a naive one is read in the
    current time zone), or None: for text that is not one, an impossible date
    (30 February, month 13, year 0, hour 25), an offset beyond ±24 h, or a
    moment outside years 1-9999 once in UTC."""
    try:
        parsed = parse_datetime(text)
        if parsed is None:
            return None
        if is_naive(parsed):
            parsed = make_aware(parsed, get_current_timezone())
        parsed.astimezone(UTC)  # databases store UTC: the year must stay in range
    except (ValueError, OverflowError):
        return None
    return parsed

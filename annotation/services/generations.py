"""Generation counters in the shared cache: how processes tell that something they
keep a copy of has changed since they read it.

A writer moves the counter on (`move`); a reader compares the value it read the
copy under with the value now (`read`). A counter the cache lost starts again
from a random value, so no copy kept under the old one can match it. Neither
call raises: when the cache does not answer they return None, and the caller
reads the source instead of a copy.

Used by the taxonomy snapshot (one counter) and the review history (one per
reviewer).
"""

import logging
import random

from django.core.cache import cache

logger = logging.getLogger(__name__)


def read(key: str) -> int | None:
    """The counter's value now, started when missing (None: no cache answer)."""
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, random.getrandbits(62), timeout=None)
            value = cache.get(key)
        return value
    except Exception:  # the cache is down: the caller reads the source
        logger.warning("generation %s: the cache did not answer", key, exc_info=True)
        return None


def move(key: str) -> int | None:
    """Move the counter on; its new value (None: no cache answer)."""
    try:
        try:
            return cache.incr(key)
        except ValueError:  # no counter yet (or the cache evicted it)
            read(key)
            return cache.incr(key)
    except Exception:
        logger.warning("generation %s: could not move it", key, exc_info=True)
        return None

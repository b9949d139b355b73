"""System checks of the deployment (`manage.py check --deploy`). Registered when
the `tagger` package is imported (its settings module is), so they run with every
`check`; nothing here needs the app registry."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

# Caches whose add and incr are atomic for every process of the site.
SHARED_ATOMIC_CACHES = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
)


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """The login throttle's counters need a cache shared by every process, with
    atomic increments (tagger/login.py)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in SHARED_ATOMIC_CACHES:
        return []
    return [
        CheckWarning(
            f"The default cache is {backend.rsplit('.', 1)[-1]}: login throttling then "
            "counts per process or without atomic increments, and parallel attempts can "
            "pass its limits.",
            hint="Set CACHE_URL to a Redis URL (docs/security.md, Login and proxies).",
            id="tagger.W001",
        )
    ]

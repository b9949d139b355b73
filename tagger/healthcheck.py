"""Health checks for the containers: ``python -m tagger.healthcheck web|worker|beat``.

Exit status 0 when healthy, 1 otherwise, with one line saying why (Docker keeps
it in ``docker inspect``'s health log).

- ``web``: GET /healthz on this host's gunicorn (tagger/health.py): the process
  serves requests and reaches the database.
- ``worker``: this host's Celery worker answers a ping through the broker.
- ``beat``: the beat scheduler wrote its schedule file recently (it saves it
  every few minutes while it runs: Celery's ``PersistentScheduler`` syncs every
  180 s at least, and our shortest entry runs every 30 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_WEB_URL = "http://127.0.0.1:8000/healthz"
DEFAULT_BEAT_MAX_AGE_S = 600.0


def check_web(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(200).decode("utf-8", "replace")
            return response.status == 200, f"{url}: {response.status} {body}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"{url}: {exc}"


def check_worker(node: str, timeout: float) -> tuple[bool, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")
    import django

    django.setup()
    from tagger.celery import app

    replies = app.control.ping(destination=[node], timeout=timeout) or []
    answered = [name for reply in replies for name in reply]
    if node in answered:
        return True, f"{node} answered the ping"
    return False, f"{node} did not answer a ping within {timeout:g} s"


def schedule_age(schedule: Path, now: float | None = None) -> float | None:
    """Seconds since the newest of the schedule's files was written (the dbm
    module behind shelve may add .db, .dat, .dir or .bak), None when none exists."""
    candidates = [schedule, *schedule.parent.glob(schedule.name + ".*")]
    mtimes = [path.stat().st_mtime for path in candidates if path.is_file()]
    if not mtimes:
        return None
    return (time.time() if now is None else now) - max(mtimes)


def check_beat(schedule: Path, max_age: float) -> tuple[bool, str]:
    age = schedule_age(schedule)
    if age is None:
        return False, f"no beat schedule at {schedule}"
    if age > max_age:
        return False, f"beat schedule {schedule} last written {age:.0f} s ago (> {max_age:g} s)"
    return True, f"beat schedule written {age:.0f} s ago"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.healthcheck")
    sub = parser.add_subparsers(dest="what", required=True)
    web = sub.add_parser("web", help="GET /healthz of this host's web server")
    web.add_argument("--url", default=os.environ.get("TAGGER_HEALTH_URL", DEFAULT_WEB_URL))
    web.add_argument("--timeout", type=float, default=5.0)
    worker = sub.add_parser("worker", help="ping this host's Celery worker")
    worker.add_argument("--node", default=f"celery@{socket.gethostname()}")
    worker.add_argument("--timeout", type=float, default=5.0)
    beat = sub.add_parser("beat", help="the beat schedule file is fresh")
    beat.add_argument("--schedule", type=Path, required=True)
    beat.add_argument("--max-age", type=float, default=DEFAULT_BEAT_MAX_AGE_S)
    args = parser.parse_args(argv)

    if args.what == "web":
        ok, why = check_web(args.url, args.timeout)
    elif args.what == "worker":
        ok, why = check_worker(args.node, args.timeout)
    else:
        ok, why = check_beat(args.schedule, args.max_age)
    print(("healthy: " if ok else "unhealthy: ") + why)  # noqa: T201
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

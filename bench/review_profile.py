"""Where one review request's time goes: the claim (GET /review/) and the submit
(POST /review/submit/, a plain form post) of one reviewer, one at a time, on the
load benchmark's PostgreSQL database (build it with bench/load.py first).

    .venv/bin/python bench/review_profile.py --database-url postgres://postgres@127.0.0.1:5432/tagger_load_leases

Each round claims the next product through the Django test client, posts the form
the page offers (as bench/load.py's reviewers do) and times the whole request, its
SQL statements and the main steps inside it. The first rounds warm the process up
and are left out. Prints medians and writes the JSON. Run it on a quiet machine;
compare two trees by running each in turn.
"""

import argparse
import functools
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import DEFAULT_CACHE, DEFAULT_DB, SECRET_KEY, _form  # noqa: E402

WARM_UP = 3
# (module, function) pairs timed inside the requests; a name the tree lacks is skipped.
STEPS = [
    ("annotation.views.review", "render"),
    ("annotation.views.review", "_panel_context"),
    ("annotation.services.queue", "claim_next"),
    ("annotation.services.active_model", "suggestion_version_for"),
    ("annotation.services.review", "review_state"),
    ("annotation.services.review", "recent_submissions"),
    ("annotation.services.review", "submit_review"),
]


def _timed(samples: dict[str, list[float]], owner: object, name: str) -> None:
    inner = getattr(owner, name, None)
    if inner is None:
        return

    @functools.wraps(inner)
    def wrapper(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            samples[name].append(1000 * (time.perf_counter() - start))

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--reviewer", default="load-reviewer-019")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "review_profile.json")
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of the last claim and submit"
    )
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "tagger.settings",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": args.database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "CACHE_URL": args.cache,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    import django

    django.setup()
    import importlib

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    steps: dict[str, list[float]] = defaultdict(list)
    # The views call these through their modules' attributes, so wrapping the
    # attribute times every call.
    for module, name in STEPS:
        _timed(steps, importlib.import_module(module), name)

    client = Client()
    client.force_login(User.objects.get(username=args.reviewer))
    rng = random.Random(0)
    requests: dict[str, list[tuple[float, int]]] = {"claim": [], "submit": []}
    last_sql: dict[str, list[str]] = {}

    def measure(kind: str, call: Callable[..., object], *args: object) -> object:
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            answer = call(*args)
            requests[kind].append((1000 * (time.perf_counter() - start), len(queries)))
        last_sql[kind] = [q["sql"] for q in queries.captured_queries]
        return answer

    for _round in range(args.rounds):
        page = measure("claim", client.get, "/review/")
        form = _form(page.content.decode(), rng, 0.1)  # type: ignore[attr-defined]
        if form is None:
            raise SystemExit("the queue has nothing left for this reviewer")
        product, decisions = form
        data: dict[str, object] = {
            "product": product,
            "shown": list(decisions),
            "tag": [t for t, approved in decisions.items() if approved],
        }
        if not data["tag"]:
            data["none_apply"] = "1"
        answer = measure("submit", client.post, "/review/submit/", data)
        if answer.status_code != 302:  # type: ignore[attr-defined]
            raise SystemExit(f"submit answered {answer.status_code}")  # type: ignore[attr-defined]

    def median(values: list[float]) -> float:
        return round(statistics.median(values[WARM_UP:]), 2)

    result = {
        "benchmark": "review_profile",
        "command": ".venv/bin/python bench/review_profile.py " + " ".join(sys.argv[1:]),
        "rounds": args.rounds,
        "warm_up_rounds": WARM_UP,
        **{f"{kind}_ms": median([ms for ms, _n in samples]) for kind, samples in requests.items()},
        **{
            f"{kind}_statements": statistics.median(n for _ms, n in samples[WARM_UP:])
            for kind, samples in requests.items()
        },
        "steps_ms": {name: median(values) for name, values in sorted(steps.items())},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "load_average": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    print(json.dumps(result, indent=2))
    if args.show_sql:
        for kind, statements in last_sql.items():
            print(f"\n{kind}: {len(statements)} statements")
            for number, sql in enumerate(statements, 1):
                print(f"{number:3}. {sql[:300]}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

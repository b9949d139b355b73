"""N reviewers at once on the real stack, while the model retrains and re-scores.

    .venv/bin/python bench/load.py --reviewers 20 --seconds 60 --json bench/out/load.json
    .venv/bin/python bench/load.py --reviewers 20 --seconds 60 --reuse-db
    .venv/bin/python bench/load.py --reviewers 20 --seconds 60 --conflicts

On loopback: PostgreSQL (database `tagger_load`, dropped and rebuilt unless
--reuse-db), Redis (broker db 12, cache db 13), gunicorn (4 workers x 4 threads)
and a Celery worker (2 processes), all started and stopped here. The catalogue
is synthetic: 100k products, a 126-tag taxonomy, a real zero-shot model version
(active) whose suggestions are synthetic rows, 2,000 products with imported tags
to train on, and a queue over the rest.

Each simulated reviewer logs in through the login page and loops: GET /review/
(claim the next product and render it), think, then POST /review/submit/ the
form the page offers (every shown tag, the pre-checked ones approved, now and
then one unchecked), as a browser without JavaScript does; the redirect's next
page confirms "Saved". Meanwhile an admin starts a training from the models
page and the full catalogue is queued for re-scoring (score_catalog). Before
the timed window each reviewer opens the review page once, untimed, as on a
server that has been up a while (--no-warm-up times the window from cold
processes); the JSON keeps every request's time into the window (timeline).

With --conflicts, reviewers also try to overwrite each other: after each claim,
now and then (--conflict-share) a reviewer posts a submit for a product another
reviewer holds (rejecting every tag that reviewer was shown), as a stale tab or
a hostile client would. Leases are the law, so every such submit must be
refused (409); one that is accepted is an "accepted overwrite", counted from
the answers and from the database (events by the intruder on that product).

Afterwards the database is checked: no product reviewed by two reviewers, and
no lease windows (as the clients saw them) overlapping between two reviewers;
every decision whose submit was accepted is in ReviewEvent and ProductTag, and
no queue entry counts more reviews than it needs. Prints a summary and writes
the JSON.
"""

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_data import (  # noqa: E402
    PASSWORD,
    build,
    counts,
    ensure_database,
    prepare_run,
    table_sizes,
)
from bench.load_stack import (  # noqa: E402
    Service,
    WebSession,
    group_pids,
    machine_cpu_seconds,
    process_cpu_seconds,
    start_celery_worker,
    start_gunicorn,
)

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tagger_load"
DEFAULT_BROKER = "redis://127.0.0.1:6379/12"
DEFAULT_CACHE = "redis://127.0.0.1:6379/13"
OUT = ROOT / "bench" / "out"
SECRET_KEY = "load-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

_PRODUCT_RE = re.compile(r'name="product" value="(\d+)"')
_SHOWN_RE = re.compile(r'name="shown" value="(\d+)"')
_CHECKBOX_RE = re.compile(r'<input type="checkbox" name="tag" value="(\d+)"([^>]*)>')


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """What gunicorn, the worker and this process share."""
    return {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "TAGGER_DEMO"}},
        "DJANGO_SETTINGS_MODULE": "tagger.settings",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": args.database_url,
        # Kept for the whole run, as in production (and so their CPU time can be read).
        "DATABASE_CONN_MAX_AGE": "600",
        "CELERY_BROKER_URL": args.broker,
        "CACHE_URL": args.cache,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain http on loopback: no TLS redirect, cookies without the secure flag.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "TAGGER_VAR_DIR": str(OUT / "load-var"),
        "TAGGER_TRAIN_MODE": "head",
        "TAGGER_TORCH_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# -- the reviewers ------------------------------------------------------------------------


@dataclass
class Claim:
    reviewer: str
    product: int
    # Certainly held from the claim's answer until the submit was sent.
    held_from: float
    held_until: float | None = None


@dataclass
class Submission:
    reviewer: str
    product: int
    decisions: dict[int, bool]
    status: int
    accepted: bool  # redirected back to the review page
    confirmed: bool | None = None  # the next page said "Saved"
    refused: bool = False  # the next page said "Not saved"


@dataclass
class Intrusion:
    """A submit for a product another reviewer held when it was chosen."""

    reviewer: str
    product: int
    holder: str
    status: int
    accepted: bool  # redirected as saved instead of refused with 409
    # The holder had not yet sent their own submit when the answer came back.
    while_held: bool


@dataclass
class Stats:
    claim_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    conflict_ms: list[float] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    intrusions: list[Intrusion] = field(default_factory=list)
    # product -> (holder, tags shown to them): what intruders aim at
    held: dict[int, tuple[str, list[int]]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    crashes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (seconds into the window when the request ended, "claim"/"submit", ms)
    timeline: list[tuple[float, str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def timed(self, kind: str, ms: float) -> None:
        """Record one claim or submit; call with the lock held."""
        (self.claim_ms if kind == "claim" else self.submit_ms).append(ms)
        self.timeline.append((round(time.monotonic() - self.started, 3), kind, ms))


def _form(page: str, rng: random.Random, reject_share: float) -> tuple[int, dict[int, bool]] | None:
    """The product and the decisions a reviewer posts for this page: every shown
    tag, the pre-checked ones approved, sometimes one of those unchecked."""
    product = _PRODUCT_RE.search(page)
    if product is None:
        return None
    checked = [int(tag) for tag, attrs in _CHECKBOX_RE.findall(page) if " checked" in attrs]
    decisions = {int(tag): False for tag in _SHOWN_RE.findall(page)}
    decisions.update(dict.fromkeys(checked, True))
    if checked and rng.random() < reject_share:
        decisions[rng.choice(checked)] = False
    return int(product.group(1)), decisions


def _confirm(page: str, pending: Submission | None) -> None:
    if pending is not None:
        # The review page shows an action's message in its status line.
        pending.confirmed = '<span class="status-ok">Saved ' in page
        pending.refused = '<span class="status-error">' in page


def reviewer(
    name: str,
    web: WebSession,
    deadline: float,
    think: float,
    seed: int,
    stats: Stats,
    conflict_share: float = 0.0,
) -> None:
    try:
        _review_until(name, web, deadline, think, seed, stats, conflict_share)
    except Exception as exc:  # a client crash is a finding, reported with the results
        with stats.lock:
            stats.crashes.append(f"{name}: {type(exc).__name__}: {exc}")


def _intrude(name: str, web: WebSession, rng: random.Random, stats: Stats) -> None:
    """Submit a product another reviewer holds, rejecting every tag they were
    shown (always a valid decision set, so only the lease can refuse it)."""
    with stats.lock:
        targets = [(p, held) for p, held in stats.held.items() if held[0] != name]
    if not targets:
        return
    product, (holder, shown) = rng.choice(targets)
    fields = [("product", str(product))] + [("shown", str(t)) for t in shown]
    if not shown:
        fields.append(("none_apply", "1"))
    answer = web.post("/review/submit/", fields)
    accepted = answer.status == 302
    with stats.lock:
        still_held = stats.held.get(product, ("", []))[0] == holder
        stats.conflict_ms.append(answer.elapsed_ms)
        stats.statuses[f"conflict {answer.status}"] += 1
        stats.intrusions.append(
            Intrusion(name, product, holder, answer.status, accepted, while_held=still_held)
        )


def _review_until(
    name: str,
    web: WebSession,
    deadline: float,
    think: float,
    seed: int,
    stats: Stats,
    conflict_share: float = 0.0,
) -> None:
    rng = random.Random(seed)
    pending: Submission | None = None
    while time.monotonic() < deadline:
        page = web.get("/review/")
        with stats.lock:
            stats.timed("claim", page.elapsed_ms)
            stats.statuses[f"claim {page.status}"] += 1
        if page.status != 200:
            time.sleep(0.5)
            continue
        _confirm(page.body, pending)
        pending = None
        form = _form(page.body, rng, reject_share=0.2)
        if form is None:
            return  # the queue has nothing left for this reviewer
        product, decisions = form
        claim = Claim(name, product, held_from=time.time())
        if conflict_share:
            with stats.lock:
                stats.held[product] = (name, list(decisions))
        time.sleep(think * rng.uniform(0.5, 1.5))
        if conflict_share and rng.random() < conflict_share:
            _intrude(name, web, rng, stats)
        fields = [("product", str(product))]
        fields += [("shown", str(t)) for t in decisions]
        fields += [("tag", str(t)) for t, approved in decisions.items() if approved]
        if not decisions:
            fields.append(("none_apply", "1"))  # nothing shown: say so explicitly (key 0)
        claim.held_until = time.time()
        with stats.lock:
            stats.held.pop(product, None)
        answer = web.post("/review/submit/", fields)
        accepted = answer.status == 302 and answer.location.endswith("/review/")
        pending = Submission(name, product, decisions, answer.status, accepted)
        with stats.lock:
            stats.timed("submit", answer.elapsed_ms)
            stats.statuses[f"submit {answer.status}"] += 1
            stats.claims.append(claim)
            stats.submissions.append(pending)
    if pending is not None:
        # The page after the last submit says whether it was saved (not timed).
        page = web.get("/review/")
        _confirm(page.body, pending)
        match = _PRODUCT_RE.search(page.body)
        if match:
            with stats.lock:
                stats.claims.append(Claim(name, int(match.group(1)), held_from=time.time()))


# -- the background work --------------------------------------------------------------------


def start_background(admin: WebSession, zero_shot_id: int) -> dict:
    """An admin starts a training on the models page; the catalogue is queued for
    a full re-score by the active (zero-shot) version."""
    from training import tasks

    page = admin.get("/training/")
    answer = admin.post("/training/train/", [("mode", "head")])
    tasks.score_catalog.delay(zero_shot_id, None, True)
    return {"models_page_status": page.status, "train_post_status": answer.status}


def background_outcome(zero_shot_id: int, since: float) -> dict:
    from datetime import UTC, datetime

    from annotation.models import Suggestion
    from training.models import TrainingRun

    run = TrainingRun.objects.order_by("-pk").first()
    rescored = Suggestion.objects.filter(
        model_version_id=zero_shot_id, created_at__gte=datetime.fromtimestamp(since, UTC)
    )
    return {
        "training_run": None
        if run is None
        else {
            "id": run.pk,
            "status": run.status,
            "progress": run.progress,
            "stage": run.stage,
            "error": run.error[:300],
        },
        "rescored_products": rescored.values("product").distinct().count(),
        "rescored_suggestions": rescored.count(),
    }


# -- the checks -------------------------------------------------------------------------------


def check(stats: Stats, since: float) -> dict:
    """Double assignments and lost decisions, from the client logs and the database."""
    from datetime import UTC, datetime

    from django.contrib.auth.models import User
    from django.db.models import Count, F

    from annotation.models import Product, ProductTag, QueueEntry, ReviewEvent
    from annotation.services.queue import REVIEW_ACTIONS

    started = datetime.fromtimestamp(since, UTC)
    # Client side: two reviewers' certain holding windows on one product overlap.
    by_product: dict[int, list[Claim]] = defaultdict(list)
    for claim in stats.claims:
        by_product[claim.product].append(claim)
    end = time.time()
    overlapping = 0
    for claims in by_product.values():
        for i, a in enumerate(claims):
            for b in claims[i + 1 :]:
                if (
                    a.reviewer != b.reviewer
                    and a.held_from < (b.held_until or end)
                    and (b.held_from < (a.held_until or end))
                ):
                    overlapping += 1
    claimed_by_two = sum(1 for c in by_product.values() if len({x.reviewer for x in c}) > 1)
    # Database side: products reviewed by more than one reviewer during the run.
    events = ReviewEvent.objects.filter(created_at__gte=started, action__in=REVIEW_ACTIONS)
    reviewed_by_two = (
        events.values("product").annotate(n=Count("user", distinct=True)).filter(n__gt=1).count()
    )
    over_counted = QueueEntry.objects.filter(reviews_done__gt=F("reviews_needed")).count()
    # Intruders' submits that the server took: from the answers, and from the
    # record (an event by the intruder on the product they aimed at).
    overwrites_answered = sum(1 for i in stats.intrusions if i.accepted)
    overwrites_recorded = sum(
        1
        for i in stats.intrusions
        if events.filter(
            user_id=User.objects.get(username=i.reviewer).pk, product_id=i.product
        ).exists()
    )

    users = dict(User.objects.filter(username__startswith="load-").values_list("username", "pk"))
    lost, lost_examples = 0, []
    # Redirected back to the review page and not reported "Not saved" after.
    accepted = [s for s in stats.submissions if s.accepted and not s.refused]
    for sub in accepted:
        recorded = dict(
            events.filter(user_id=users[sub.reviewer], product_id=sub.product).values_list(
                "tag_id", "new_state"
            )
        )
        state = dict(
            ProductTag.objects.filter(product_id=sub.product).values_list("tag_id", "state")
        )
        wanted = {t: "approved" if ok else "rejected" for t, ok in sub.decisions.items()}
        reviewed = Product.objects.filter(pk=sub.product, reviewed_at__gte=started).exists()
        if not reviewed or any(
            recorded.get(t) != s or state.get(t) != s for t, s in wanted.items()
        ):
            lost += 1
            if len(lost_examples) < 5:
                lost_examples.append({"submission": asdict(sub), "events": recorded})
    return {
        "double_assignments": overlapping + reviewed_by_two,
        "overlapping_client_leases": overlapping,
        "products_reviewed_by_two": reviewed_by_two,
        "products_claimed_by_two": claimed_by_two,
        "queue_entries_over_counted": over_counted,
        "lost_decisions": lost,
        "lost_examples": lost_examples,
        "accepted_submits": len(accepted),
        "accepted_not_confirmed": sum(1 for s in accepted if s.confirmed is False),
        "refused_submits": sum(1 for s in stats.submissions if s.refused),
        "conflicting_submits": len(stats.intrusions),
        "conflicting_submits_while_held": sum(1 for i in stats.intrusions if i.while_held),
        "conflicting_submits_refused_409": sum(1 for i in stats.intrusions if i.status == 409),
        "accepted_overwrites": max(overwrites_answered, overwrites_recorded),
        "accepted_overwrites_answered": overwrites_answered,
        "accepted_overwrites_recorded": overwrites_recorded,
    }


# -- running it -------------------------------------------------------------------------------


def _after(stats: Stats, kind: str, seconds: float) -> list[float]:
    """The `kind` samples of requests that ended `seconds` or more into the window."""
    return [ms for t, k, ms in stats.timeline if k == kind and t >= seconds]


def _percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _login_all(port: int, names: list[str]) -> list[WebSession]:
    sessions = [WebSession("127.0.0.1", port) for _ in names]
    threads = [
        threading.Thread(target=s.login, args=(n, PASSWORD))
        for s, n in zip(sessions, names, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    missing = [n for s, n in zip(sessions, names, strict=True) if "sessionid" not in s.cookies]
    if missing:
        raise RuntimeError(f"could not log in: {missing}")
    return sessions


def _open_review_pages(sessions: list[WebSession]) -> None:
    """Before the window, every reviewer opens the review page once (untimed),
    as on a server that has been up for a while: each gunicorn process has then
    loaded its views and templates and read the taxonomy, which a real
    deployment does once per process start, not once a minute. The first timed
    request of each reviewer is then a reload of the product it holds."""
    threads = [threading.Thread(target=s.get, args=("/review/",)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class CpuMeter:
    """CPU seconds used during the timed window by the web server, the worker,
    the database backends of the load database, this load generator and
    everything else on the machine (other people's work on a shared box)."""

    def __init__(self, services: dict[str, Service]) -> None:
        self.services = services

    @staticmethod
    def _database_pids() -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def _snapshot(self) -> dict:
        groups = {
            name: process_cpu_seconds(group_pids(service.process.pid))
            for name, service in self.services.items()
        }
        times = os.times()
        return {
            **groups,
            "database": process_cpu_seconds(self._database_pids()),
            "load_generator": times.user + times.system,
            "machine": machine_cpu_seconds(),
        }

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self, requests: int) -> dict:
        after = self._snapshot()
        used: dict[str, float] = {}
        for name in (*self.services, "database"):
            old = self.before[name]
            used[name] = sum(cpu - old.get(pid, 0.0) for pid, cpu in after[name].items())
        used["load_generator"] = after["load_generator"] - self.before["load_generator"]
        result = {f"{name}_seconds": round(v, 1) for name, v in used.items()}
        if after["machine"] and self.before["machine"]:
            busy = after["machine"][0] - self.before["machine"][0]
            capacity = after["machine"][1] - self.before["machine"][1]
            result["machine_busy_seconds"] = round(busy, 1)
            result["machine_capacity_seconds"] = round(capacity, 1)
            result["other_processes_seconds"] = round(busy - sum(used.values()), 1)
        if requests:
            result["web_cpu_ms_per_request"] = round(1000 * used.get("web", 0.0) / requests, 1)
            result["database_cpu_ms_per_request"] = round(1000 * used["database"] / requests, 1)
        return result


def run(args: argparse.Namespace, zero_shot_id: int, names: list[str]) -> dict:
    env = _environment(args)
    logs = OUT / "load-logs"
    _flush_redis(args.broker)
    services: dict[str, Service] = {}
    try:
        if not args.no_background:
            services["worker"] = start_celery_worker(
                env, logs / "worker.log", concurrency=args.worker_concurrency
            )
        services["web"], port = start_gunicorn(
            env, logs / "gunicorn.log", workers=args.gunicorn_workers, threads=args.gunicorn_threads
        )
        sessions = _login_all(port, names)
        if args.warm_up:
            _open_review_pages(sessions)
        admin = WebSession("127.0.0.1", port)
        admin.login("load-admin", PASSWORD)
        stats = Stats()
        meter = CpuMeter(services)
        meter.start()
        load_before = list(os.getloadavg())
        since = time.time()
        stats.started = time.monotonic()
        background = {} if args.no_background else start_background(admin, zero_shot_id)
        deadline = time.monotonic() + args.seconds
        conflict_share = args.conflict_share if args.conflicts else 0.0
        threads = [
            threading.Thread(
                target=reviewer,
                args=(n, s, deadline, args.think_seconds, args.seed + i, stats, conflict_share),
                daemon=True,  # Ctrl-C ends the run; the finally below stops the services
            )
            for i, (n, s) in enumerate(zip(names, sessions, strict=True))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - since
        cpu = meter.stop(len(stats.claim_ms) + len(stats.submit_ms))
        if not args.no_background:
            background.update(background_outcome(zero_shot_id, since))
    finally:
        for service in reversed(services.values()):
            service.stop(grace=10)
        _flush_redis(args.broker)
    errors_5xx = sum(n for k, n in stats.statuses.items() if k.split()[1].startswith("5"))
    return {
        "elapsed_seconds": round(elapsed, 1),
        "stats": stats,
        "since": since,
        "errors_5xx": errors_5xx,
        "statuses": dict(stats.statuses),
        "background": background,
        "cpu": cpu,
        "load_average_before": load_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path, default=OUT / "load.json")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--reuse-db", action="store_true", help="keep an already built database")
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--labeled", type=int, default=2_000)
    parser.add_argument(
        "--think-seconds",
        type=float,
        default=2.0,
        help="mean pause between a claim and its submit (uniform 0.5x-1.5x); 0 = no pause",
    )
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument(
        "--no-background", action="store_true", help="no training, no re-score (a baseline)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="time the window from cold processes (no review page opened before it)",
    )
    parser.add_argument(
        "--conflicts",
        action="store_true",
        help="reviewers also submit products leased to others (each must be refused)",
    )
    parser.add_argument(
        "--conflict-share",
        type=float,
        default=0.3,
        help="with --conflicts: the share of claims after which a reviewer also intrudes",
    )
    args = parser.parse_args()

    ensure_database(args.database_url, rebuild=not args.reuse_db)
    os.environ.update(_environment(args))
    import django

    django.setup()
    from django.core.management import call_command

    from annotation.models import Product

    call_command("migrate", verbosity=0)
    if args.reuse_db and Product.objects.count() >= args.products:
        dataset = counts()
        print(f"reusing {dataset}")
    else:
        dataset = build(args.products, args.labeled, args.seed)
        print(f"built {dataset}")
    zero_shot_id, names = prepare_run(args.reviewers)
    print(f"{args.reviewers} reviewers for {args.seconds:.0f} s ...")
    outcome = run(args, zero_shot_id, names)
    stats: Stats = outcome["stats"]
    checks = check(stats, outcome["since"])
    accepted = checks["accepted_submits"]
    result = {
        "benchmark": "load",
        "command": ".venv/bin/python bench/load.py " + " ".join(sys.argv[1:]),
        "reviewers": args.reviewers,
        "seconds": args.seconds,
        "think_seconds": args.think_seconds,
        "gunicorn": f"{args.gunicorn_workers} workers x {args.gunicorn_threads} threads",
        "celery_worker_concurrency": 0 if args.no_background else args.worker_concurrency,
        "dataset": dataset,
        "claims": len(stats.claim_ms),
        "submits": len(stats.submit_ms),
        "p50_claim_ms": _percentile(stats.claim_ms, 0.50),
        "p95_claim_ms": _percentile(stats.claim_ms, 0.95),
        "p99_claim_ms": _percentile(stats.claim_ms, 0.99),
        "max_claim_ms": _percentile(stats.claim_ms, 1.0),
        "warm_up": args.warm_up,
        "p95_claim_ms_after_10s": _percentile(_after(stats, "claim", 10.0), 0.95),
        "p95_submit_ms_after_10s": _percentile(_after(stats, "submit", 10.0), 0.95),
        "p50_submit_ms": _percentile(stats.submit_ms, 0.50),
        "p95_submit_ms": _percentile(stats.submit_ms, 0.95),
        "p99_submit_ms": _percentile(stats.submit_ms, 0.99),
        "max_submit_ms": _percentile(stats.submit_ms, 1.0),
        "conflicts": args.conflicts,
        "conflict_share": args.conflict_share if args.conflicts else 0.0,
        "p50_conflict_ms": _percentile(stats.conflict_ms, 0.50),
        "p95_conflict_ms": _percentile(stats.conflict_ms, 0.95),
        "mean_claim_ms": round(statistics.fmean(stats.claim_ms), 1) if stats.claim_ms else None,
        "mean_submit_ms": round(statistics.fmean(stats.submit_ms), 1) if stats.submit_ms else None,
        "submits_per_second": round(accepted / outcome["elapsed_seconds"], 2),
        "errors_5xx": outcome["errors_5xx"],
        "client_crashes": stats.crashes,
        "statuses": outcome["statuses"],
        **checks,
        "background": outcome["background"],
        "cpu": outcome["cpu"],
        "table_sizes": table_sizes(),
        "timeline": stats.timeline,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "load_average_before": outcome["load_average_before"],
        "load_average_after": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "run_id": uuid.uuid4().hex[:8],
    }
    for kind in ("claim", "submit"):
        print(
            f"{kind:6s} p50 {result[f'p50_{kind}_ms']} ms  p95 {result[f'p95_{kind}_ms']} ms  "
            f"p99 {result[f'p99_{kind}_ms']} ms  (n={len(getattr(stats, f'{kind}_ms'))}); "
            f"p95 after the first 10 s {result[f'p95_{kind}_ms_after_10s']} ms"
        )
    print(
        f"{result['submits_per_second']} submits/s, {result['errors_5xx']} 5xx, "
        f"{result['double_assignments']} double assignments, "
        f"{result['lost_decisions']} lost decisions, background {result['background']}"
    )
    if args.conflicts:
        print(
            f"{result['conflicting_submits']} conflicting submits "
            f"({result['conflicting_submits_while_held']} while held), "
            f"{result['conflicting_submits_refused_409']} refused with 409, "
            f"{result['accepted_overwrites']} accepted overwrites"
        )
    print(f"cpu {result['cpu']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

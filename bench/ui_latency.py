"""Server time of the review page on a 100k-product catalogue in PostgreSQL.

    .venv/bin/python bench/ui_latency.py
    .venv/bin/python bench/ui_latency.py --products 100000 --iterations 300 --reuse

Creates (or with --reuse, keeps) the database `tagger_bench` on
postgres://postgres@127.0.0.1:5432 (override with --database-url), fills it with
synthetic products, a taxonomy, an active model version's suggestions (with
evidence spans), a ranked queue and some review history, then times with the
Django test Client:

  claim   GET /review/ when the reviewer holds nothing: claim the next product, render it
  reload  GET /review/ again: the reviewer's own lease comes back
  submit  POST /review/submit/ (htmx): write the decisions, claim and render the next

Prints p50/p95/p99 in milliseconds and the SQL queries per request, writes
bench/out/ui_latency.json and the "## UI latency" section of docs/benchmarks.md.
"""

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.host import cpu_model  # noqa: E402

# The load benchmark's synthetic taxonomy and texts, and its PostgreSQL helpers.
from bench.load_data import (  # noqa: E402
    FILLER,
    ITEMS,
    copy_rows,
    create_taxonomy,
    ensure_database,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tagger_bench"


def _configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("TAGGER_VAR_DIR", tempfile.mkdtemp(prefix="tagger-bench-"))
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    # The test settings: real middleware and templates, a local-memory cache.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


# -- synthetic catalogue ----------------------------------------------------------------


def build(products: int, per_product: int, seed: int = 0) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from annotation import roles
    from annotation.models import (
        Product,
        ProductTag,
        QueueEntry,
        ReviewEvent,
        Suggestion,
    )
    from training.ml.text import text_hash
    from training.models import ModelVersion

    rng = random.Random(seed)
    started = time.perf_counter()
    roles.ensure_role_groups()
    tags_by_facet = create_taxonomy()
    all_tags = [t for tags in tags_by_facet.values() for t in tags]
    version = ModelVersion.objects.create(
        mode="head",
        status="active",
        base_model="bench",
        thresholds={t.key: 0.5 for t in all_tags},
        tag_vocab=[t.key for t in all_tags],
        metrics={"micro_f1": 0.8, "macro_f1": 0.5, "labeled_count": products // 5},
    )
    now = timezone.now()
    product_rows, suggestion_plan = [], []
    for i in range(products):
        color = rng.choice(tags_by_facet["color"])
        material = rng.choice(tags_by_facet["material"])
        pattern = rng.choice(tags_by_facet["pattern"])
        audience = rng.choice(tags_by_facet["audience"])
        item = rng.choice(ITEMS)
        title = f"{color.name} {material.name} {item} for {audience.name} {i}"
        text = f"{title} {pattern.name} design. {FILLER}"
        product_rows.append(
            (
                f"B-{i:07d}",
                title,
                f"{pattern.name} design. {FILLER}",
                "BenchCo",
                "Apparel > Tops",
                "{}",
                "",
                "en",
                text,
                text_hash(text),
                False,
                now,
                now,
            )
        )
        spans = {
            color.pk: (0, len(color.name)),
            material.pk: (len(color.name) + 1, len(color.name) + 1 + len(material.name)),
        }
        at = text.index(f"{pattern.name} design")
        spans[pattern.pk] = (at, at + len(pattern.name))
        chosen = {color.pk: 0.9, material.pk: 0.8, pattern.pk: 0.7, audience.pk: 0.6}
        while len(chosen) < per_product:
            chosen.setdefault(rng.choice(all_tags).pk, round(rng.uniform(0.05, 0.45), 3))
        suggestion_plan.append((chosen, spans))
    copy_rows(
        Product,
        [
            "external_id",
            "title",
            "description",
            "brand",
            "category_path",
            "attributes",
            "image_url",
            "language",
            "normalized_text",
            "content_hash",
            "is_eval",
            "created_at",
            "updated_at",
        ],
        product_rows,
    )
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    suggestion_rows = []
    for pid, (chosen, spans) in zip(ids, suggestion_plan, strict=True):
        for tag_id, score in chosen.items():
            span = spans.get(tag_id)
            evidence = json.dumps([list(span)] if span and score >= 0.5 else [])
            suggestion_rows.append((pid, tag_id, version.pk, score, score >= 0.5, evidence, now))
    copy_rows(
        Suggestion,
        ["product", "tag", "model_version", "score", "selected", "evidence", "created_at"],
        suggestion_rows,
    )

    # A fifth of the catalogue reviewed already, by a few reviewers.
    reviewers = []
    for n in range(4):
        user = User.objects.create_user(f"bench{n}", password="bench-pw-1")
        user.groups.add(roles.ensure_role_groups()[roles.MERCHANDISER])
        reviewers.append(user)
    reviewed = set(rng.sample(ids, products // 5))
    pt_rows, event_rows, queue_rows = [], [], []
    plan_by_id = dict(zip(ids, suggestion_plan, strict=True))
    for pid in ids:
        if pid in reviewed:
            user = rng.choice(reviewers)
            when = now - timedelta(minutes=rng.randint(1, 60 * 24 * 7))
            submission = uuid.UUID(int=rng.getrandbits(128))
            for tag_id, score in plan_by_id[pid][0].items():
                if score >= 0.5:
                    pt_rows.append(
                        (pid, tag_id, "approved", "human", user.pk, when, version.pk, score, when)
                    )
                    event_rows.append(
                        (
                            user.pk,
                            when,
                            pid,
                            tag_id,
                            "accept",
                            "",
                            "approved",
                            score,
                            version.pk,
                            "",
                            submission,
                        )
                    )
            queue_rows.append((pid, 0.0, "uncertain", "bench", 1, 1, when))
        else:
            queue_rows.append((pid, rng.random(), "uncertain", "bench", 1, 0, None))
    copy_rows(
        ProductTag,
        [
            "product",
            "tag",
            "state",
            "source",
            "decided_by",
            "decided_at",
            "model_version",
            "score",
            "updated_at",
        ],
        pt_rows,
    )
    copy_rows(
        ReviewEvent,
        [
            "user",
            "created_at",
            "product",
            "tag",
            "action",
            "previous_state",
            "new_state",
            "score",
            "model_version",
            "note",
            "submission",
        ],
        event_rows,
    )
    copy_rows(
        QueueEntry,
        [
            "product",
            "priority",
            "reason",
            "strategy",
            "reviews_needed",
            "reviews_done",
            "completed_at",
        ],
        queue_rows,
    )
    Product.objects.filter(pk__in=reviewed).update(reviewed_at=now - timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "products": products,
        "tags": len(all_tags),
        "suggestions": len(suggestion_rows),
        "product_tags": len(pt_rows),
        "queue_entries": len(queue_rows),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def counts() -> dict:
    from annotation.models import Product, ProductTag, QueueEntry, Suggestion, Tag

    return {
        "products": Product.objects.count(),
        "tags": Tag.objects.count(),
        "suggestions": Suggestion.objects.count(),
        "product_tags": ProductTag.objects.count(),
        "queue_entries": QueueEntry.objects.count(),
    }


# -- measuring ------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(iterations: int, warmup: int) -> dict:
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from annotation.models import QueueEntry

    user = User.objects.get(username="bench0")
    client = Client()
    client.force_login(user)
    timings: dict[str, list[float]] = {"claim": [], "reload": [], "submit": []}
    sql_ms: dict[str, list[float]] = {"claim": [], "reload": [], "submit": []}
    queries: dict[str, int] = {}

    def timed(kind: str, call, record: bool):
        # The query log is a bounded deque: once full, captures come back empty.
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = call()
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (kind, response.status_code)
        if record:
            timings[kind].append(elapsed)
            sql_ms[kind].append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            queries[kind] = max(queries.get(kind, 0), len(captured))
        return response

    for i in range(warmup + iterations):
        record = i >= warmup
        # Nothing held: the GET claims the next product.
        QueueEntry.objects.filter(leased_by=user).update(leased_by=None, lease_expires_at=None)
        timed("claim", lambda: client.get("/review/"), record)
        page = timed("reload", lambda: client.get("/review/"), record)
        # What the browser would post: every shown tag, the checked ones approved.
        html = page.content.decode()
        product = re.search(r'name="product" value="(\d+)"', html).group(1)
        shown = re.findall(r'name="shown" value="(\d+)"', html)
        checked = re.findall(r'name="tag" value="(\d+)"[^>]* checked>', html)
        data = {"product": product, "shown": shown, "tag": checked}
        timed(
            "submit",
            lambda data=data: client.post("/review/submit/", data, HTTP_HX_REQUEST="true"),
            record,
        )
    return {
        kind: {
            **_percentiles(samples),
            "queries": queries[kind],
            # Time inside the database driver, as Django measures it.
            "sql_p50_ms": round(statistics.median(sql_ms[kind]), 2),
        }
        for kind, samples in timings.items()
    }


def _machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def _postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def write_docs(result: dict, path: Path) -> None:
    r = result["results"]
    rows = "\n".join(
        f"| {label} | {r[k]['p50_ms']} | {r[k]['p95_ms']} | {r[k]['p99_ms']} "
        f"| {r[k]['queries']} | {r[k]['sql_p50_ms']} |"
        for k, label in (
            ("claim", "GET /review/, claiming the next product"),
            ("reload", "GET /review/, reload (own lease)"),
            ("submit", "POST /review/submit/ (htmx): save + claim + render next"),
        )
    )
    d = result["dataset"]
    load = result["load_average_1min"]
    section = f"""## UI latency

Server time of the review page, measured with the Django test Client against
{result["database"]} holding {d["products"]:,} products, {d["tags"]} tags,
{d["suggestions"]:,} suggestions of the active model, {d["product_tags"]:,} decided tags
and {d["queue_entries"]:,} queue entries ({result["iterations"]} timed iterations after
{result["warmup"]} warm-up ones; one reviewer; target p95 ≤ {result["target_p95_ms"]} ms).

    {" ".join(a for a in result["command"].split() if a not in ("--reuse", "--no-docs"))}

(`--reuse` keeps the database an earlier run built; this run: `{result["command"]}`.)

| request | p50 ms | p95 ms | p99 ms | SQL queries | of which in SQL, p50 ms |
|---|---|---|---|---|---|
{rows}

Machine: {result["machine"]}; 1-minute load average {load[0]} before and {load[1]}
after the run; {result["date"]}. The figures include template rendering and the
middleware stack, not the network. A page is a fixed set of queries whatever the
number of tags shown (no N+1 in the views).
"""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find("## UI latency")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--suggestions-per-product", type=int, default=24)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args()

    ensure_database(args.database_url, rebuild=not args.reuse)
    _configure(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    from annotation.models import Product

    call_command("migrate", verbosity=0)
    if args.reuse and Product.objects.count() >= args.products:
        dataset = counts()
        print(f"reusing {dataset}")
    else:
        dataset = build(args.products, args.suggestions_per_product)
        print(f"built {dataset}")
    load_before = os.getloadavg()
    results = measure(args.iterations, args.warmup)
    load_after = os.getloadavg()
    command = ".venv/bin/python bench/ui_latency.py " + " ".join(sys.argv[1:])
    result = {
        "benchmark": "ui_latency",
        "database": _postgres_version(),
        "dataset": dataset,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "target_p95_ms": 100,
        "results": results,
        "machine": _machine(),
        # Other work on the machine inflates every figure; this says how much there was.
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "command": command.strip(),
    }
    for kind, r in results.items():
        print(
            f"{kind:7s} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
            f"p99 {r['p99_ms']:7.2f} ms  queries {r['queries']}"
        )
    out = ROOT / "bench" / "out" / "ui_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    if not args.no_docs:
        write_docs(result, ROOT / "docs" / "benchmarks.md")
        print("updated docs/benchmarks.md (## UI latency)")


if __name__ == "__main__":
    main()

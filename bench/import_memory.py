"""How much memory hostile catalogue files cost the web and the worker process.

    .venv/bin/python bench/import_memory.py
    .venv/bin/python bench/import_memory.py --only bad_rows_2m --keep

Builds the files of issue #12 in a temporary directory, streaming them through
gzip so none is ever held in memory:

- bomb_2g.csv.gz: 2.2 GB of CSV (a header, then 1 MB rows) in about 2 MB of gzip;
- bomb_2g.json.gz: the same as one JSON document (a list of 1 MB products);
- bad_rows_2m.csv.gz: 2.1 million rows without a title, in a few KB of gzip;
- columns_1m.csv: a header of 1,000,000 columns and one row;
- big_rows.jsonl.gz: 2,000 valid products of 100,000-character descriptions
  (200 MB of text that is imported: the control, which must be written).

Each file then goes through the real code, each side in a fresh process: the web
side posts it to the import page (/import/: the upload is parsed, stored and its
import queued), the worker side runs the queued import
(annotation.services.importing.run_queued_import). Each process first imports a
one-row file, so libraries loaded on first use count in its baseline; the figure
is the growth of its peak resident set (VmHWM, reset before the run where the
kernel allows) over that baseline. Uses SQLite in a temporary directory (or
DATABASE_URL, whose database must be empty), the settings' default caps.
Writes bench/out/import_memory.json.
"""

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.host import cpu_model  # noqa: E402

MIB = 1024 * 1024
LINE = 1_000_000  # bytes of title in a bomb row


# -- the files --------------------------------------------------------------------------


def _write_gzip(path: Path, chunks: Iterator[bytes]) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        for chunk in chunks:
            out.write(chunk)


def bomb_csv(path: Path) -> None:
    row = b"1," + b"a" * LINE + b"\n"
    _write_gzip(path, iter([b"id,title\n", *([row] * 2_200)]))


def bomb_json(path: Path) -> None:
    row = b'{"id": "1", "title": "' + b"a" * LINE + b'"},\n'

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(2_200):
            yield row
        yield b'{"id": "2", "title": "end"}]'

    _write_gzip(path, chunks())


def bad_rows(path: Path) -> None:
    # Every row names a product and gives no title: 2.1 million row errors.
    block = b"1,\n" * 100_000
    _write_gzip(path, iter([b"id,title\n", *([block] * 21)]))


def columns(path: Path) -> None:
    names = ",".join(["id", "title", *(f"c{i}" for i in range(999_998))])
    values = ",".join(["1", "A lamp", *(["v"] * 999_998)])
    path.write_text(f"{names}\n{values}\n", encoding="ascii")


def big_rows(path: Path) -> None:
    words = "cotton shirt with a round neck and short sleeves, machine washable "
    description = (words * (100_000 // len(words) + 1))[:99_990]

    def chunks() -> Iterator[bytes]:
        for i in range(2_000):
            row = {"id": f"big-{i}", "title": f"Shirt {i}", "description": description}
            yield (json.dumps(row) + "\n").encode()

    _write_gzip(path, chunks())


FILES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "bomb_2g_csv": ("bomb_2g.csv.gz", bomb_csv),
    "bomb_2g_json": ("bomb_2g.json.gz", bomb_json),
    "bad_rows_2m": ("bad_rows_2m.csv.gz", bad_rows),
    "columns_1m": ("columns_1m.csv", columns),
    "big_rows": ("big_rows.jsonl.gz", big_rows),
}


def inflated_size(path: Path) -> int:
    if path.suffix != ".gz":
        return path.stat().st_size
    size = 0
    with gzip.open(path, "rb") as handle:
        while chunk := handle.read(16 * MIB):
            size += len(chunk)
    return size


# -- the child processes ----------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")
    import django

    django.setup()


def child_setup() -> dict[str, Any]:
    """Create the tables (from the models) and the admin who uploads."""
    _django()
    from django.apps import apps
    from django.contrib.auth.models import User
    from django.db import connection

    models = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
    with connection.schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    User.objects.create_superuser("bench-admin", "bench@example.com", "x")
    return {"vendor": connection.vendor}


def _upload(client: Any, path: Path) -> int:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from annotation.models import ImportBatch

    data = path.read_bytes()
    response = client.post("/import/", {"file": SimpleUploadedFile(path.name, data)})
    if response.status_code != 302:
        raise RuntimeError(f"upload answered {response.status_code}: {response.content[:300]!r}")
    return ImportBatch.objects.latest("pk").pk


def child_web(path: Path, warmup: Path) -> dict[str, Any]:
    """Post the file to the import page, as a browser would."""
    _django()
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    _upload(client, warmup)
    baseline, reset = _status_kib("VmRSS"), _reset_peak()
    start = time.perf_counter()
    batch_id = _upload(client, path)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {
        "batch": batch_id,
        "seconds": round(seconds, 2),
        "baseline_mib": round(baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - baseline) / 1024, 1),
        "peak_reset": reset,
    }


def child_worker(batch_id: int, warmup_id: int) -> dict[str, Any]:
    """Run the queued import, as the Celery task does."""
    _django()
    from annotation.models import ImportBatch
    from annotation.services.importing import run_queued_import

    run_queued_import(warmup_id)
    baseline, reset = _status_kib("VmRSS"), _reset_peak()
    start = time.perf_counter()
    run_queued_import(batch_id)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    batch = ImportBatch.objects.get(pk=batch_id)
    return {
        "status": batch.status,
        "rows_total": batch.rows_total,
        "rows_created": batch.rows_created,
        "rows_rejected": batch.rows_rejected,
        "errors_kept": len(batch.errors),
        "errors_omitted": batch.errors_omitted,
        "message": batch.errors[0]["reason"] if batch.errors else "",
        "seconds": round(seconds, 2),
        "baseline_mib": round(baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - baseline) / 1024, 1),
        "peak_reset": reset,
    }


# -- the parent -------------------------------------------------------------------------


def _child(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _machine() -> str:
    try:
        mem = _meminfo_gib()
    except OSError:
        mem = 0.0
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(FILES), default=[])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "import_memory.json")
    args = parser.parse_args()
    names = args.only or list(FILES)

    work = Path(tempfile.mkdtemp(prefix="tagger-import-memory-"))
    (work / "var").mkdir()
    env = {
        **os.environ,
        "TAGGER_VAR_DIR": str(work / "var"),
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "WARNING",
    }
    vendor = _child(env, "setup")["vendor"]
    warmup = work / "warmup.csv"
    warmup.write_text("id,title\nwarm-1,Warm-up lamp\n", encoding="ascii")

    results = []
    for name in names:
        filename, build = FILES[name]
        path = work / filename
        start = time.perf_counter()
        build(path)
        built = time.perf_counter() - start
        entry: dict[str, Any] = {
            "file": name,
            "bytes": path.stat().st_size,
            "inflated_bytes": inflated_size(path),
            "build_seconds": round(built, 1),
        }
        print(f"{name}: {entry['bytes']:,} bytes, {entry['inflated_bytes']:,} inflated", flush=True)
        warm = _child(env, "web", str(warmup), str(warmup))["batch"]
        web = _child(env, "web", str(path), str(warmup))
        worker = _child(env, "worker", str(web["batch"]), str(warm))
        entry["web"] = web
        entry["worker"] = worker
        print(
            f"  web +{web['growth_mib']} MiB ({web['seconds']} s), "
            f"worker +{worker['growth_mib']} MiB ({worker['seconds']} s): "
            f"{worker['status']}: {worker['message'][:120]}",
            flush=True,
        )
        results.append(entry)
        path.unlink()

    report = {"machine": _machine(), "database": vendor, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _child_main(argv: list[str]) -> None:
    kind, *rest = argv
    out: IO[str] = sys.stdout
    if kind == "setup":
        result = child_setup()
    elif kind == "web":
        result = child_web(Path(rest[0]), Path(rest[1]))
    else:
        result = child_worker(int(rest[0]), int(rest[1]))
    out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child_main(sys.argv[2:])
    else:
        main()

"""gunicorn settings for the image and the demo: ``gunicorn -c python:tagger.gunicorn_conf``.

Command-line flags still win over these. Every value can be set from the
environment (GUNICORN_*), so a deployment tunes it without a new image.

The timeout: gunicorn kills a sync worker silent for 30 s by default. A few
requests legitimately run longer than that: a catalogue upload of up to
TAGGER_MAX_UPLOAD_BYTES (200 MB) read over a slow link, a large CSV export,
the first request of a process that imports Django, DRF and the apps. The
heavy work itself (imports, training, scoring, ranking) runs on the Celery
workers, never in a request, so 120 s covers the rest with room; a request
still running then is stuck and is better killed.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# workers ~ 2 x cores because of the GIL; threads cover the database waits.
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count(), 8))
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 120)
# On SIGTERM, requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Behind a load balancer, keep idle connections longer than its own idle timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, so a slow leak never grows unbounded.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Heartbeat files on tmpfs where there is one (containers): a slow overlay disk
# must not make the arbiter think a worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"

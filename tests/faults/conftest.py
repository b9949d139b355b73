"""What the fault tests share: the training tests' tiny model, catalogue and
worker subprocess (reused, not rewritten), and a way to point this process's
Celery app at another broker for the length of a test."""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import kombu.pools
import pytest
from celery import Celery

# Fixtures of tests/training, made available here by name.
from tests.training.conftest import make_catalogue, ml_settings, taxonomy, tiny_bert  # noqa: F401
from tests.training.test_worker_integration import (  # noqa: F401
    redis_reachable,
    start_worker,
    worker_env,
)

__all__ = ["celery_broker", "closed_port", "redis_reachable"]


def _reset_connections(app: Celery) -> None:
    # The app keeps one connection pool and one producer pool per process,
    # built from broker_url on first use; drop them so the next send reconnects.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    # kombu keeps its producer pools per broker URL for the whole process; one
    # closed above would be handed out again the next time that URL is used.
    kombu.pools.reset()


@contextmanager
def celery_broker(url: str) -> Iterator[Celery]:
    """Send this process's tasks to `url` for real (not eagerly) inside the block."""
    from tagger.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.broker_transport_options)
    # Celery reads the CELERY_BROKER_URL environment variable before its own
    # configuration (CI sets it to the Redis broker), so both are pointed at `url`.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {}
    _reset_connections(app)
    try:
        yield app
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        _reset_connections(app)
        (
            app.conf.broker_url,
            app.conf.task_always_eager,
            app.conf.broker_transport_options,
        ) = saved


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_required() -> None:
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")

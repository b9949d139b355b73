"""Is any Celery worker consuming a queue? Asked by whatever waits on a worker
(``manage.py train --wait``, the dashboard, the import page), so that nothing
waits in silence on a queue no worker reads.

It asks the workers themselves (Celery's remote control, ``inspect
active_queues``) through the broker, so it works with every broker the project
supports, the demo's filesystem broker included. Workers answer from their main
process, also while their pool is busy training. A worker started with
``--without-remote-control`` (``-E`` is not needed) cannot answer and looks absent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

# Pages ask at most this often per queue (the answer is cached): an inspect
# waits its whole timeout when nobody answers.
PAGE_CACHE_SECONDS = 30
# A page asks only about work queued at least this long ago: a worker usually
# takes a task within a second or two.
PAGE_ASK_AFTER_SECONDS = 30


@dataclass(frozen=True)
class QueueConsumers:
    queue: str
    workers: tuple[str, ...]
    # False when the question could not be asked (the broker is unreachable):
    # then nobody knows whether a worker is there.
    asked: bool = True

    @property
    def none(self) -> bool:
        """True only when the workers were asked and none consumes the queue."""
        return self.asked and not self.workers


def default_queue() -> str:
    return str(current_app.conf.task_default_queue or "celery")


def consumers(queue: str | None = None, timeout: float | None = None) -> QueueConsumers:
    """The workers that consume `queue` (default: the default queue) now, by
    their node names; waits up to `timeout` seconds (TAGGER_WORKER_PING_SECONDS)
    for answers. With tasks run eagerly (tests, ``--inline``) this process is
    the worker."""
    name = queue or default_queue()
    if current_app.conf.task_always_eager:
        return QueueConsumers(name, ("this process (eager)",))
    wait = settings.TAGGER_WORKER_PING_SECONDS if timeout is None else timeout
    try:
        replies = current_app.control.inspect(timeout=wait).active_queues() or {}
    except Exception:
        logger.warning("could not ask the workers which queues they consume", exc_info=True)
        return QueueConsumers(name, (), asked=False)
    nodes = sorted(
        node
        for node, queues in replies.items()
        if any(isinstance(q, dict) and q.get("name") == name for q in queues or [])
    )
    return QueueConsumers(name, tuple(nodes))


def cached_consumers(queue: str | None = None) -> QueueConsumers:
    """consumers(), remembered for PAGE_CACHE_SECONDS in the shared cache: for
    pages that poll, so a page without workers costs one inspect per half minute."""
    name = queue or default_queue()
    key = f"tagger:queue-consumers:{name}"
    found = cache.get(key)
    if isinstance(found, QueueConsumers):
        return found
    answer = consumers(name)
    cache.set(key, answer, PAGE_CACHE_SECONDS)
    return answer


def missing_for_page(queue: str | None, waiting_since: datetime) -> dict[str, str] | None:
    """For a page showing work queued since `waiting_since`: the queue and the
    command that starts a worker for it when none consumes it, else None. Asks
    only once the work has waited PAGE_ASK_AFTER_SECONDS (cached answers)."""
    if (timezone.now() - waiting_since).total_seconds() < PAGE_ASK_AFTER_SECONDS:
        return None
    answer = cached_consumers(queue)
    if not answer.none:
        return None
    return {"queue": answer.queue, "command": start_command(answer.queue)}


def start_command(queue: str) -> str:
    """The command that starts a worker consuming `queue` (the project's own)."""
    return f"celery -A tagger worker -Q {queue} -l info"

"""One copy per process of something every request reads and that rarely changes.

The review path reads the taxonomy, the active model version and the project
settings on every page: a few rows that change a few times a day. A
`ProcessCopy` keeps what its loader returned and checks it on every use against
a generation counter in the shared cache (Redis in production, a file cache in
the demo). Any change (`changed()`, called by model signals and by the few
queryset updates) moves the counter at once and again when its transaction
commits, so no process serves a copy older than the last commit for longer than
it takes to read the counter (and, should the cache miss a move, for longer than
MAX_AGE_SECONDS). Nothing is kept while the thread's own transaction holds an
uncommitted change (it could roll back), and when the cache does not answer the
loader runs every time.

A kept copy is shared between threads and requests: callers read it, never
change it.
"""

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from annotation.services import generations

T = TypeVar("T")

# A copy is read again after this long whatever the counter says: a change whose
# move the cache missed (it was down at that moment) shows within a minute.
MAX_AGE_SECONDS = 60.0

_every: list["ProcessCopy"] = []


class ProcessCopy(Generic[T]):
    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self.generation_key = f"tagger:{name}:generation"
        self.load = load
        self._held: tuple[int, float, T] | None = None
        self._thread = threading.local()
        _every.append(self)

    def _committed(self) -> None:
        self._thread.pending = False
        generations.move(self.generation_key)

    def changed(self) -> None:
        """What the copy holds changed: every process's copy is stale from now on,
        and again once the change commits."""
        self._held = None
        if connection.in_atomic_block:
            if getattr(self._thread, "pending", False):
                return  # already moved, and moved again when this transaction commits
            self._thread.pending = True
            transaction.on_commit(self._committed)
        generations.move(self.generation_key)

    def current(self) -> T:
        """This process's copy, loaded again when it changed."""
        pending = getattr(self._thread, "pending", False)
        if pending and not connection.in_atomic_block:
            self._thread.pending = pending = False  # the change was rolled back, or committed
        if pending:
            # This thread's own uncommitted change: only its transaction sees it.
            return self.load()
        token = generations.read(self.generation_key)
        held = self._held
        now = time.monotonic()
        if token is not None and held is not None:
            kept_token, kept_at, kept = held
            if kept_token == token and now - kept_at < MAX_AGE_SECONDS:
                return kept
        value = self.load()
        if token is not None:
            self._held = (token, now, value)
        return value

    def watch(self, *models: type[Model]) -> None:
        """Renew the copy whenever a row of these models is saved or deleted
        (queryset updates send no signal: their callers call `changed()`)."""
        for model in models:
            for event, signal in (("saved", post_save), ("deleted", post_delete)):
                signal.connect(
                    self._row_changed,
                    sender=model,
                    weak=False,
                    dispatch_uid=f"{self.generation_key}:{model._meta.label}:{event}",
                )

    def _row_changed(self, sender: object, **kwargs: object) -> None:
        self.changed()

    def forget(self) -> None:
        """Drop this process's copy (tests: the database was rolled back under it)."""
        self._held = None
        self._thread.pending = False


def forget_all() -> None:
    """Drop every copy this process holds (tests: the database was rolled back)."""
    for copy in _every:
        copy.forget()

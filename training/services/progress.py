"""Progress of the catalogue's re-scoring and the queue's ranking, for the
dashboard and the management commands.

A training run keeps its progress on its own row (``TrainingRun``). Scoring
and ranking have no row of their own: they are re-runnable tasks, and a scoring
fans out into chunk tasks on several workers. Their progress lives in the
shared cache (``CACHE_URL``: Redis across machines, the file cache under
``var/`` in the demo), one record per kind, each chunk adding what it scored.
It is a report, not state: when the cache loses it the dashboard shows
nothing, and nothing is recomputed from it. With Redis the chunks' additions
are atomic; with the file cache (one machine) two processes adding at once may
lose one addition, so the demo's figure can lag by a chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext_lazy

SCORING = "scoring"
RANKING = "ranking"
KINDS = (SCORING, RANKING)

# Stages, as stored; the dashboard and the commands show them translated.
SCORING_STAGE = "scoring"
READING = "reading"
CHOOSING = "choosing"
WRITING = "writing"
DONE = "done"
FAILED = "failed"

STAGE_LABELS = {
    SCORING_STAGE: gettext_lazy("Scoring products"),
    READING: gettext_lazy("Reading the scores"),
    CHOOSING: gettext_lazy("Choosing what to review next"),
    WRITING: gettext_lazy("Writing queue priorities"),
    DONE: gettext_lazy("Done"),
    FAILED: gettext_lazy("Failed"),
}
KIND_LABELS = {
    SCORING: gettext_lazy("Re-scoring the catalogue"),
    RANKING: gettext_lazy("Ranking the review queue"),
}

# A record is kept this long after its last change, so a finished job is still
# shown for a while and a job whose worker died does not stay forever.
KEEP_SECONDS = 24 * 3600

Listener = Callable[["Progress"], None]


@dataclass(frozen=True)
class Progress:
    kind: str
    version_id: int | None
    stage: str
    done: int
    total: int
    started_at: float
    updated_at: float

    @property
    def finished(self) -> bool:
        return self.stage in (DONE, FAILED) or (
            self.kind == SCORING and self.total > 0 and self.done >= self.total
        )

    @property
    def percent(self) -> float:
        if self.stage == DONE or (self.total and self.done >= self.total):
            return 100.0
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS.get(self.stage, self.stage))

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.updated_at)


def _key(kind: str) -> str:
    return f"tagger:progress:{kind}"


def _done_key(kind: str, started_at: float) -> str:
    # The counter belongs to one job: a new job starts a new counter.
    return f"tagger:progress:{kind}:{started_at!r}:done"


def current(kind: str) -> Progress | None:
    record = cache.get(_key(kind))
    if not isinstance(record, dict):
        return None
    done = cache.get(_done_key(kind, record["started_at"]))
    return Progress(
        kind=kind,
        version_id=record["version_id"],
        stage=record["stage"],
        done=int(done or 0),
        total=int(record["total"]),
        started_at=float(record["started_at"]),
        updated_at=float(record["updated_at"]),
    )


class Tracker:
    """Reports one job's progress: `stage()` when it moves on, `advance(n)`
    when n more items are done, `finish()` at the end. `listener` (a command's
    progress bar) hears every change in this process."""

    def __init__(
        self,
        kind: str,
        version_id: int | None,
        total: int,
        stage: str,
        listener: Listener | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown progress kind {kind!r}")
        self.kind = kind
        self.version_id = version_id
        self.listener = listener
        self.started_at = time.time()
        self._record = {
            "version_id": version_id,
            "stage": stage,
            "total": int(total),
            "started_at": self.started_at,
            "updated_at": self.started_at,
        }
        cache.set(_done_key(kind, self.started_at), 0, KEEP_SECONDS)
        self._save()

    @classmethod
    def resume(cls, kind: str, listener: Listener | None = None) -> Tracker | None:
        """The tracker of the job in flight (a scoring chunk adds to its
        catalogue's job), or None when there is none."""
        found = current(kind)
        if found is None or found.finished:
            return None
        tracker = cls.__new__(cls)
        tracker.kind = kind
        tracker.version_id = found.version_id
        tracker.listener = listener
        tracker.started_at = found.started_at
        tracker._record = {
            "version_id": found.version_id,
            "stage": found.stage,
            "total": found.total,
            "started_at": found.started_at,
            "updated_at": found.updated_at,
        }
        return tracker

    def _save(self) -> None:
        self._record["updated_at"] = time.time()
        cache.set(_key(self.kind), dict(self._record), KEEP_SECONDS)
        self._tell()

    def _tell(self) -> None:
        if self.listener is not None:
            now = current(self.kind)
            if now is not None:
                self.listener(now)

    def stage(self, stage: str, total: int | None = None) -> None:
        self._record["stage"] = stage
        if total is not None:
            self._record["total"] = int(total)
            cache.set(_done_key(self.kind, self.started_at), 0, KEEP_SECONDS)
        self._save()

    def advance(self, n: int) -> None:
        if n <= 0:
            return
        key = _done_key(self.kind, self.started_at)
        try:
            cache.incr(key, n)
        except ValueError:  # expired or evicted: start counting again
            cache.set(key, n, KEEP_SECONDS)
        self._save()

    def finish(self, ok: bool = True) -> None:
        self._record["stage"] = DONE if ok else FAILED
        self._save()

"""Shared by the commands that wait on a Celery worker (train, rescore): they
never wait in silence on a queue that no worker consumes."""

import time

from annotation.services import workers

# While the work is queued, ask this often whether a worker consumes its queue.
WORKER_CHECK_SECONDS = 10.0


class WorkerWatch:
    """Asks every WORKER_CHECK_SECONDS whether a worker consumes `queue`; says
    so once when none does, and gives up after `wait` seconds without one."""

    def __init__(self, queue: str, wait: float, inline_command: str) -> None:
        self.queue = queue
        self.wait = wait
        self.inline_command = inline_command
        self._next_check = 0.0
        self._missing_since: float | None = None
        self._warned = False
        self.gave_up = False

    def how_to(self) -> str:
        return (
            f"Start a worker that consumes it: `{workers.start_command(self.queue)}` "
            "(`make run` starts one for the demo), then run this command again; or work "
            f"in this process without a worker: `{self.inline_command}`."
        )

    def check(self) -> str | None:
        """A line to show when it is time to say that no worker is there."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + WORKER_CHECK_SECONDS
        answer = workers.consumers(self.queue)
        if not answer.none:
            self._missing_since = None
            return None
        if self._missing_since is None:
            self._missing_since = now
        if now - self._missing_since >= self.wait:
            self.gave_up = True
            return None
        if self._warned:
            return None
        self._warned = True
        return (
            f"No Celery worker consumes the queue {self.queue!r}: the run stays queued. "
            f"{self.how_to()} Waiting {self.wait:g} s for one."
        )

import time
from typing import Any

from celery import current_app as celery_app
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.services import workers
from training import errors, jobs
from training.models import TrainingRun
from training.services import job, runs

POLL_SECONDS = 1.0
# While the run is queued, ask this often whether a worker consumes its queue.
WORKER_CHECK_SECONDS = 10.0
# Without a worker for this long, the queued run is cancelled (--worker-wait).
DEFAULT_WORKER_WAIT = 60.0


class Command(BaseCommand):
    help = (
        "Train a new model version from the labeled products. The run is executed by a "
        "Celery worker (`make run` starts one); --inline runs it in this process instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mode",
            choices=runs.TRAIN_MODES,
            help="default: TAGGER_TRAIN_MODE, else full on CUDA, head on CPU",
        )
        parser.add_argument("--wait", action="store_true", help="follow the run until it finishes")
        parser.add_argument(
            "--worker-wait",
            type=float,
            default=DEFAULT_WORKER_WAIT,
            metavar="SECONDS",
            help="with --wait: when no worker consumes the training queue for this long, "
            f"cancel the queued run and say how to start one (default {DEFAULT_WORKER_WAIT:g})",
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="train in this process (no worker needed); scoring and ranking after "
            "promotion also run here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        mode = options["mode"] or None
        try:
            if options["inline"]:
                run = self._inline(mode)
            else:
                run = runs.trigger_training(None, mode)
                self.stdout.write(f"training run {run.pk} queued")
                if options["wait"]:
                    run = self._follow(run, options["worker_wait"])
        except errors.TrainingError as exc:
            raise CommandError(str(exc)) from exc
        run.refresh_from_db()
        if options["wait"] or options["inline"]:
            self._report(run)

    def _inline(self, mode: str | None) -> TrainingRun:
        run = runs.trigger_training(None, mode, enqueue=False)
        self.stdout.write(f"training run {run.pk} started in this process")
        # Tasks enqueued by what follows (scoring and ranking after an automatic
        # promotion) run here too: there may be no worker at all.
        was_eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            with tqdm(total=100, bar_format="{l_bar}{bar}| {n:.0f}%") as bar:

                def show(fraction: float, stage: str) -> None:
                    bar.n = round(100 * fraction, 1)
                    bar.set_description(stage[:40])
                    bar.refresh()

                job.run_training(run.pk, listener=show)
        except Exception as exc:
            # Already recorded on the run with its traceback; _report exits 1 with it.
            self.stderr.write(f"training failed: {type(exc).__name__}: {exc}")
        finally:
            celery_app.conf.task_always_eager = was_eager
        return run

    def _follow(self, run: TrainingRun, worker_wait: float) -> TrainingRun:
        watch = _WorkerWatch(jobs.training_queue(), worker_wait)
        with tqdm(total=100, bar_format="{l_bar}{bar}| {n:.0f}%") as bar:
            while True:
                run.refresh_from_db()
                bar.n = round(run.progress, 1)
                bar.set_description((run.stage_display or run.get_status_display())[:40])
                bar.refresh()
                if not run.is_active:
                    return run
                if run.status == TrainingRun.Status.QUEUED:
                    hint = watch.check()
                    if hint:
                        bar.write(hint, file=self.stderr, end="")
                    if watch.gave_up:
                        self._give_up(run, watch)
                time.sleep(POLL_SECONDS)

    def _give_up(self, run: TrainingRun, watch: "_WorkerWatch") -> None:
        run = runs.cancel_training(run)
        if run.status != TrainingRun.Status.CANCELLED:
            return  # a worker took it just now: follow it to the end
        raise CommandError(
            f"training run {run.pk} cancelled: no worker consumed the queue "
            f"{watch.queue!r} for {watch.wait:g} s. {watch.how_to()}"
        )

    def _report(self, run: TrainingRun) -> None:
        if run.status == TrainingRun.Status.SUCCEEDED:
            version = run.model_version
            assert version is not None, "a succeeded run has its model version"
            metrics = version.metrics
            if metrics.get("micro_f1") is not None:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"model v{version.pk} ({version.status}): micro-F1 {metrics['micro_f1']:.3f}, "
                        f"macro-F1 {metrics['macro_f1']:.3f} on {metrics.get('n_eval', 0)} "
                        f"held-out products, trained on {metrics.get('n_train', 0)}"
                    )
                )
            else:
                self.stdout.write(self.style.SUCCESS(f"model v{version.pk} ({version.status})"))
            return
        if run.status == TrainingRun.Status.CANCELLED:
            raise CommandError(f"training run {run.pk} was cancelled")
        raise CommandError(
            f"training run {run.pk} {run.status}: {run.error or 'no error recorded'}"
        )


class _WorkerWatch:
    """Asks every WORKER_CHECK_SECONDS whether a worker consumes `queue`; says
    so once when none does, and gives up after `wait` seconds without one."""

    def __init__(self, queue: str, wait: float) -> None:
        self.queue = queue
        self.wait = wait
        self._next_check = 0.0
        self._missing_since: float | None = None
        self._warned = False
        self.gave_up = False

    def how_to(self) -> str:
        return (
            f"Start a worker that consumes it: `{workers.start_command(self.queue)}` "
            "(`make run` starts one for the demo), then run this command again; or train "
            "in this process without a worker: `manage.py train --inline`."
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

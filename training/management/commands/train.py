import time
from typing import Any

from celery import current_app as celery_app
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from training import errors, jobs
from training.management.commands._waiting import WorkerWatch
from training.models import TrainingRun
from training.services import job, runs

POLL_SECONDS = 1.0
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
        watch = WorkerWatch(jobs.training_queue(), worker_wait, "manage.py train --inline")
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

    def _give_up(self, run: TrainingRun, watch: WorkerWatch) -> None:
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

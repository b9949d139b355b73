import time
from typing import Any

from celery import current_app as celery_app
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from annotation.models import Product
from annotation.services import workers
from training import jobs
from training.management.commands._waiting import WorkerWatch
from training.models import ModelVersion
from training.services import progress, ranking, scoring

POLL_SECONDS = 1.0
DEFAULT_WORKER_WAIT = 60.0
BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"


class Command(BaseCommand):
    help = (
        "Score the catalogue with a model version (default: the active one), then re-rank "
        "the review queue when it is the active one. Queued for the Celery workers; "
        "--wait follows the progress with bars, --inline does the work in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model-version", type=int, help="model version id (default: the active one)"
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="score every product, not only those the version has not scored yet",
        )
        parser.add_argument("--wait", action="store_true", help="follow the progress until done")
        parser.add_argument(
            "--worker-wait",
            type=float,
            default=DEFAULT_WORKER_WAIT,
            metavar="SECONDS",
            help="with --wait: give up when no worker consumes the queue for this long "
            f"(default {DEFAULT_WORKER_WAIT:g}); the work stays queued",
        )
        parser.add_argument(
            "--inline", action="store_true", help="score and rank in this process (no worker)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = self._version(options["model_version"])
        if options["inline"]:
            self._inline(version, options["full"])
            return
        started = time.time()
        with transaction.atomic():
            jobs.score_catalog(version.pk, full=options["full"])
        self.stdout.write(f"scoring with model v{version.pk} queued on {jobs.scoring_queue()!r}")
        if options["wait"]:
            self._follow(version, started, options["worker_wait"])

    def _version(self, version_id: int | None) -> ModelVersion:
        if version_id is None:
            version = ModelVersion.objects.active()
            if version is None:
                raise CommandError("no active model version: train one, or pass --model-version")
            return version
        found = ModelVersion.objects.filter(pk=version_id).first()
        if found is None:
            raise CommandError(f"model version {version_id} does not exist")
        return found

    def _inline(self, version: ModelVersion, full: bool) -> None:
        ids = (
            list(Product.objects.order_by("id").values_list("id", flat=True))
            if full
            else scoring.pending_product_ids(version)
        )
        with tqdm(total=len(ids), desc="scoring", unit="product", bar_format=BAR) as bar:
            tracker = progress.Tracker(
                progress.SCORING, version.pk, len(ids), progress.SCORING_STAGE
            )

            def step(n: int) -> None:
                bar.update(n)
                tracker.advance(n)

            written = scoring.score_products(version, ids, on_progress=step)
            tracker.finish()
        self.stdout.write(f"model v{version.pk} scored {len(ids)} products ({written} suggestions)")
        version.refresh_from_db()
        if version.status != ModelVersion.Status.ACTIVE:
            return
        with tqdm(total=0, desc="ranking", unit="entry", bar_format=BAR) as bar:

            def show(now: progress.Progress) -> None:
                _show(bar, now)

            ranked = ranking.rank_queue(version, listener=show)
        self.stdout.write(self.style.SUCCESS(f"ranked {ranked} queue entries"))

    def _follow(self, version: ModelVersion, since: float, worker_wait: float) -> None:
        found = self._follow_one(
            progress.SCORING, version.pk, since, jobs.scoring_queue(), worker_wait
        )
        self.stdout.write(f"model v{version.pk} scored {found.done} of {found.total} products")
        version.refresh_from_db()
        if version.status != ModelVersion.Status.ACTIVE:
            return
        ranked = self._follow_one(
            progress.RANKING, version.pk, found.started_at, workers.default_queue(), worker_wait
        )
        if ranked.stage == progress.FAILED:
            raise CommandError("ranking failed: see the worker's log")
        self.stdout.write(self.style.SUCCESS(f"ranked {ranked.total} queue entries"))

    def _follow_one(
        self, kind: str, version_id: int, since: float, queue: str, worker_wait: float
    ) -> progress.Progress:
        """Show the progress of the first `kind` job of the version started after
        `since`, until it finishes; while it has not started, make sure a worker
        consumes `queue`."""
        watch = WorkerWatch(queue, worker_wait, "manage.py rescore --inline")
        with tqdm(total=0, desc=kind, bar_format=BAR) as bar:
            while True:
                now = progress.current(kind)
                if now is not None and now.version_id == version_id and now.started_at >= since:
                    _show(bar, now)
                    if now.finished:
                        return now
                elif celery_app.conf.task_always_eager:
                    # The task already ran in this process and left no record.
                    raise CommandError(f"the {kind} ran in this process but reported no progress")
                else:
                    hint = watch.check()
                    if hint:
                        bar.write(hint, file=self.stderr, end="")
                    if watch.gave_up:
                        raise CommandError(
                            f"no worker consumed the queue {queue!r} for {worker_wait:g} s; "
                            f"the {kind} stays queued and starts when one does. {watch.how_to()}"
                        )
                time.sleep(POLL_SECONDS)


def _show(bar: tqdm, now: progress.Progress) -> None:
    bar.total = now.total
    bar.n = min(now.done, now.total) if now.total else 0
    bar.set_description(f"{now.kind}: {now.stage}")
    bar.refresh()

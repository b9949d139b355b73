import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")

app = Celery("tagger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender: Celery, **kwargs: object) -> None:
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def lower_priority(increment: int) -> int:
    """Make this process yield the CPU to the web processes: training and
    scoring are batch work, a reviewer waits on every page. Returns the new
    niceness (unchanged when increment is 0 or the OS refuses)."""
    if increment <= 0:
        return os.nice(0)
    try:
        return os.nice(increment)
    except OSError:
        return os.nice(0)


@worker_process_init.connect
def _yield_cpu_to_the_web(**kwargs: object) -> None:
    from django.conf import settings

    lower_priority(settings.TAGGER_WORKER_NICE)


@worker_ready.connect
def _sweep_on_start(**kwargs: object) -> None:
    # A worker that died mid-training left a run marked running; find it now.
    from training.services.runs import fail_stale_runs

    fail_stale_runs()


app.conf.beat_schedule = {
    "sweep-stale-training-runs": {"task": "training.tasks.sweep_stale_runs", "schedule": 60.0},
    "auto-retrain": {"task": "training.tasks.maybe_auto_retrain", "schedule": 300.0},
    "release-expired-leases": {"task": "annotation.tasks.release_expired_leases", "schedule": 60.0},
}

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

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

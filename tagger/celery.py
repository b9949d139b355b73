import logging
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_shutting_down

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
def yield_cpu_to_the_web(**kwargs: object) -> None:
    from django.conf import settings

    lower_priority(settings.TAGGER_WORKER_NICE)


# How long the shutdown handler waits for its database write.
_SHUTDOWN_WRITE_S = 10.0


@worker_shutting_down.connect
def stop_training_on_shutdown(**kwargs: object) -> None:
    """SIGTERM (or Ctrl+C) starts Celery's warm shutdown, which waits for every
    running task to finish. A training run may take minutes or hours and did
    not know the worker was stopping, so the worker seemed to hang after "Warm
    shutdown" until killed. Now the runs this worker executes are asked to stop
    (as a cancel does: they check every few seconds and end cancelled), and the
    shutdown completes. Runs in the main process, inside the signal handler:
    the write goes through a thread of its own, with its own connection, so it
    never lands in the transaction of a task that the solo pool was running."""
    import threading

    from celery.worker import state

    task_ids = [request.id for request in list(state.active_requests)]
    if not task_ids:
        return

    def ask() -> None:
        from django.db import connection

        from training.services import runs

        try:
            runs.stop_for_shutdown(task_ids)
        except Exception:
            logging.getLogger(__name__).exception("could not ask the running trainings to stop")
        finally:
            connection.close()

    writer = threading.Thread(target=ask, name="stop-training-on-shutdown", daemon=True)
    writer.start()
    writer.join(_SHUTDOWN_WRITE_S)


app.conf.beat_schedule = {
    "sweep-stale-training-runs": {"task": "training.tasks.sweep_stale_runs", "schedule": 60.0},
    "auto-retrain": {"task": "training.tasks.maybe_auto_retrain", "schedule": 300.0},
    "release-expired-leases": {"task": "annotation.tasks.release_expired_leases", "schedule": 60.0},
    "fail-stale-imports": {"task": "annotation.tasks.fail_stale_imports", "schedule": 60.0},
    # Sends what the transactional outbox still holds (the broker was down).
    "dispatch-outbox": {"task": "annotation.tasks.dispatch_outbox", "schedule": 30.0},
}

"""A Celery worker started the way scripts/run-demo.sh starts it (the prefork
pool with two processes, the filesystem broker of the environment; beat runs
in a process of its own there), whose model training never ends on its own: it reports progress
and honours should_stop, as the real training does between batches."""

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")


def endless_training(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    tags: Sequence[object],
    config: object,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    from training.ml.types import Cancelled

    epoch = 0
    while True:
        epoch += 1
        if progress is not None:
            progress(min(0.99, epoch / 1000), f"training head, epoch {epoch}")
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled by the caller")
        time.sleep(0.2)


def main() -> None:
    import django

    django.setup()
    from tagger.celery import app
    from training.ml import model

    model.train_tagger = endless_training
    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
        ]
    )


if __name__ == "__main__":
    main()

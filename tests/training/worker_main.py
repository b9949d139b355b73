"""A real Celery worker for the integration tests, started as a subprocess.

It consumes only TEST_WORKER_QUEUE, which it also makes its default queue, so
the scoring and ranking that a promotion enqueues stay with it and never reach
another worker sharing the broker. TEST_SLOW_TRAINING=1 swaps the model
training for one that reports progress until the process is killed;
TEST_SLOW_SCORING=<seconds> makes every prediction call (one per scoring
chunk) wait that long first, so a test can kill the worker mid-scoring."""

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tagger.settings")


def slow_train(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    tags: Sequence[object],
    config: object,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    step = 0
    while True:
        if progress is not None:
            progress((step % 100) / 100, "training (slowed down for a test)")
        step += 1
        time.sleep(0.2)


def slow_down_predictions(seconds: float) -> None:
    from training.ml import model

    predict = model.TaggerModel.predict

    def slow_predict(self: object, *args: object, **kwargs: object) -> object:
        time.sleep(seconds)
        return predict(self, *args, **kwargs)  # type: ignore[arg-type]

    model.TaggerModel.predict = slow_predict  # type: ignore[method-assign]


def main() -> None:
    import django

    django.setup()
    from tagger.celery import app

    queue = os.environ["TEST_WORKER_QUEUE"]
    app.conf.task_default_queue = queue
    app.conf.worker_enable_remote_control = False
    if os.environ.get("TEST_SLOW_TRAINING") == "1":
        from training.ml import model

        model.train_tagger = slow_train
    if os.environ.get("TEST_SLOW_SCORING"):
        slow_down_predictions(float(os.environ["TEST_SLOW_SCORING"]))
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main()

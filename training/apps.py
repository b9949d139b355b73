from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Model training")

    def ready(self) -> None:
        from celery.signals import worker_ready

        from annotation.signals import products_changed

        # Registers the app's Celery tasks, which training.jobs looks up by name.
        from training import tasks  # noqa: F401

        products_changed.connect(_score_new_products, dispatch_uid="training-score-products")
        worker_ready.connect(_sweep_on_worker_start, dispatch_uid="training-sweep-stale-runs")


def _score_new_products(sender: object, product_ids: list[int], **kwargs: object) -> None:
    """New or changed products get suggestions from the active model (the task
    scores only what the version has not scored yet)."""
    from training import jobs
    from training.models import ModelVersion

    version = ModelVersion.objects.active()
    if version is not None and product_ids:
        jobs.score_catalog(version.pk)


def _sweep_on_worker_start(**kwargs: object) -> None:
    # A worker that died mid-training left a run marked running; find it now.
    from training.services.runs import fail_stale_runs

    fail_stale_runs()

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Model training"

    def ready(self) -> None:
        from annotation.signals import products_changed

        products_changed.connect(_score_new_products, dispatch_uid="training-score-products")


def _score_new_products(sender: object, product_ids: list[int], **kwargs: object) -> None:
    """New or changed products get suggestions from the active model (the task
    scores only what the version has not scored yet)."""
    from training.services.versions import active_version
    from training.tasks import score_catalog

    version = active_version()
    if version is not None and product_ids:
        score_catalog.delay(version.pk)

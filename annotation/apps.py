from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = _("Catalogue and review")

    def ready(self) -> None:
        from celery.signals import worker_ready

        # Registers the app's Celery tasks, which annotation.jobs looks up by name.
        from annotation import tasks  # noqa: F401
        from annotation.signals import products_changed

        products_changed.connect(_queue_new_products, dispatch_uid="annotation-queue-products")
        worker_ready.connect(_dispatch_outbox, dispatch_uid="annotation-dispatch-outbox")
        _watch_process_copies()


def _watch_process_copies() -> None:
    """Every saved or deleted tag, facet and category rule makes the processes'
    taxonomy copies stale, every model version their active-version copies, and
    the project settings row their copies of it."""
    from annotation.models import CategoryFacet, ProjectSettings, Tag, TagGroup
    from annotation.services import active_model, project_settings
    from annotation.services.taxonomy import snapshot

    snapshot.watch(Tag, TagGroup, CategoryFacet)
    project_settings.watch(ProjectSettings)
    active_model.watch_versions()


def _queue_new_products(sender: object, product_ids: list[int], **kwargs: object) -> None:
    from annotation.services.queue import ensure_queue_entries

    ensure_queue_entries(product_ids)


def _dispatch_outbox(**kwargs: object) -> None:
    # A worker coming up means the broker is reachable: send what waited for it.
    from annotation.services.outbox import dispatch_pending

    dispatch_pending()

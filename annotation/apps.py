from collections.abc import Callable

from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Catalogue and review"

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
    taxonomy copies stale (annotation.services.taxonomy.snapshot), and every
    saved project settings row their copies of it (project_settings)."""
    from django.db.models import Model
    from django.db.models.signals import post_delete, post_save

    from annotation.models import CategoryFacet, ProjectSettings, Tag, TagGroup

    watched: list[tuple[type[Model], Callable[..., None]]] = [
        (model, _taxonomy_changed) for model in (Tag, TagGroup, CategoryFacet)
    ]
    watched.append((ProjectSettings, _project_settings_changed))
    for model, receiver in watched:
        for event, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(receiver, sender=model, dispatch_uid=f"copy-{model.__name__}-{event}")


def _taxonomy_changed(sender: object, **kwargs: object) -> None:
    from annotation.services.taxonomy import snapshot

    snapshot.changed()


def _project_settings_changed(sender: object, **kwargs: object) -> None:
    from annotation.services import project_settings

    project_settings.changed()


def _queue_new_products(sender: object, product_ids: list[int], **kwargs: object) -> None:
    from annotation.services.queue import ensure_queue_entries

    ensure_queue_entries(product_ids)


def _dispatch_outbox(**kwargs: object) -> None:
    # A worker coming up means the broker is reachable: send what waited for it.
    from annotation.services.outbox import dispatch_pending

    dispatch_pending()

from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Catalogue and review"

    def ready(self) -> None:
        from annotation.signals import products_changed

        products_changed.connect(_queue_new_products, dispatch_uid="annotation-queue-products")


def _queue_new_products(sender: object, product_ids: list[int], **kwargs: object) -> None:
    from annotation.services.queue import ensure_queue_entries

    ensure_queue_entries(product_ids)

"""The one place the annotation app puts its Celery tasks on the queue.

Services call these; the tasks in ``annotation.tasks`` call services. Tasks are
looked up by name in Celery's registry (``AnnotationConfig.ready`` imports the tasks
module), so no service imports the tasks module.

Every function here goes through the transactional outbox
(``annotation.services.outbox.enqueue``): call it inside the transaction that
writes the rows the task reads; the message is written with them and sent
after the commit, or by the outbox sweep when the broker was down. Never
``.delay()`` or ``.apply_async()`` here (tests/architecture checks).
"""

from __future__ import annotations

from annotation.services import outbox

DELIVER_WEBHOOK = "annotation.tasks.deliver_webhook"


def deliver_webhook(delivery_id: int, *, countdown: float | None = None) -> None:
    """Send one webhook delivery (after `countdown` seconds: a retry's backoff)."""
    outbox.enqueue(DELIVER_WEBHOOK, delivery_id, countdown=countdown)


RUN_IMPORT = "annotation.tasks.run_import"


def run_import(batch_id: int) -> None:
    """Import a queued upload (call in the transaction that queues the batch)."""
    outbox.enqueue(RUN_IMPORT, batch_id)

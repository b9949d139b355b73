import io
import json

import pytest

from annotation.models import QueueEntry
from annotation.services.importing import import_products


def _jsonl(rows: list[dict]) -> io.BytesIO:
    return io.BytesIO("\n".join(json.dumps(r) for r in rows).encode())


@pytest.mark.django_db
def test_imported_products_join_the_review_queue(django_capture_on_commit_callbacks) -> None:
    # given
    rows = [{"id": f"P{i}", "title": f"Red cotton tee {i}"} for i in range(3)]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = import_products(_jsonl(rows), filename="p.jsonl")
    # then
    assert result.created == 3
    assert QueueEntry.objects.filter(completed_at__isnull=True).count() == 3


@pytest.mark.django_db
def test_an_unchanged_reimport_queues_nothing_new(django_capture_on_commit_callbacks) -> None:
    rows = [{"id": "P1", "title": "Red cotton tee"}]
    with django_capture_on_commit_callbacks(execute=True):
        import_products(_jsonl(rows), filename="p.jsonl")
    QueueEntry.objects.all().delete()
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_products(_jsonl(rows), filename="p.jsonl")
    # then
    assert callbacks == []
    assert QueueEntry.objects.count() == 0

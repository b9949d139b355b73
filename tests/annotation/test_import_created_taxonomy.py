"""The import result names the facets and tags the import created (counts,
the first few names, links to the taxonomy), flags a created facet whose name
breaks the facet-name rule, and reads in Chinese; the import itself never
fails for such a name."""

from html import unescape
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotation.models import ImportBatch, ReviewEvent, Tag, TagGroup
from annotation.services.importing import created_taxonomy, import_into, import_products
from annotation.services.importing.created import batch_note
from tests.factories import ImportBatchFactory, TagFactory, TagGroupFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_messages")]


def run_upload(client: Client, capture: Any, data: bytes) -> str:
    with capture(execute=True):
        posted = client.post(
            reverse("annotation:import"),
            {"file": SimpleUploadedFile("catalog.csv", data, content_type="text/csv")},
        )
    assert posted.status_code == 302, posted.content
    return unescape(client.get(posted["Location"]).content.decode())


def test_the_result_lists_the_facets_and_tags_the_import_created(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    color = TagGroupFactory(name="color")
    TagFactory(group=color, name="Blue")
    data = b"id,title,tags\nA1,Blue shirt,color:Blue|bogus:Nope\nA2,Red mug,color:Red\n"

    html = run_upload(admin_client, django_capture_on_commit_callbacks, data)

    assert "Every row was imported." in html
    assert "Added to the taxonomy" in html
    assert "1 new facet:" in html
    assert "2 new tags:" in html
    bogus = TagGroup.objects.get(name="bogus")
    nope = Tag.objects.get(group=bogus, name="Nope")
    assert f'href="/taxonomy/#facet-{bogus.pk}"><code>bogus</code>' in html
    assert f'href="/taxonomy/tags/{nope.pk}/"><code>bogus:Nope</code>' in html
    assert "<code>color:Red</code>" in html
    # The tag that existed is not listed as new.
    assert "<code>color:Blue</code>" not in html


def test_an_import_that_creates_nothing_says_nothing_about_the_taxonomy(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    TagFactory(group=TagGroupFactory(name="color"), name="Blue")

    html = run_upload(
        admin_client, django_capture_on_commit_callbacks, b"id,title,tags\nA1,Shirt,color:Blue\n"
    )

    assert "Every row was imported." in html
    assert "Added to the taxonomy" not in html


def test_the_list_is_bounded_with_the_total(admin_client: Client) -> None:
    rows = "".join(f"P{i},Shirt {i},size:S{i:02d}\n" for i in range(25))
    result = import_products(
        SimpleUploadedFile("c.csv", f"id,title,tags\n{rows}".encode()), filename="c.csv"
    )

    created = created_taxonomy(result.batch)
    assert (created.facet_count, created.tag_count) == (1, 25)
    assert [t.name for t in created.tags] == [f"S{i:02d}" for i in range(10)]

    html = unescape(
        admin_client.get(
            reverse("annotation:import_batch", args=[result.batch.pk])
        ).content.decode()
    )
    assert "25 new tags:" in html
    assert "(the first 10 of 25)" in html
    assert "size:S10" not in html


def test_a_second_import_of_the_same_tags_creates_nothing() -> None:
    data = b"id,title,tags\nA1,Shirt,color:Teal\n"
    first = import_products(SimpleUploadedFile("a.csv", data), filename="a.csv")
    second = import_products(
        SimpleUploadedFile("b.csv", b"id,title,tags\nA2,Mug,color:Teal\n"), filename="b.csv"
    )

    assert created_taxonomy(first.batch).tag_count == 1
    assert not created_taxonomy(second.batch)


def test_a_failed_import_created_nothing() -> None:
    result = import_products(
        SimpleUploadedFile("a.csv", b"id,title,tags\nA1,Shirt,color:Teal\nA2,,\n"),
        filename="a.csv",
    )

    assert result.batch.status == ImportBatch.Status.FAILED
    assert not created_taxonomy(result.batch)


def test_a_facet_name_against_the_rule_is_imported_and_flagged_in_chinese(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    admin_client.cookies["django_language"] = "zh-hans"
    data = "id,title,tags\nA1,Shirt,Bad Name!!:x|适用对象:女士|precious/artificial jewellery:Gold\n"

    html = run_upload(admin_client, django_capture_on_commit_callbacks, data.encode())

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert TagGroup.objects.filter(name="Bad Name!!").exists()
    assert "3 个新维度：" in html
    assert "维度名“Bad Name!!”不符合维度命名规则" in html
    # The facets of real catalogues are not flagged.
    assert "维度名“适用对象”" not in html
    assert "维度名“precious/artificial jewellery”" not in html
    assert "new facet" not in html


def csv_file(rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("c.csv", f"id,title,tags\n{rows}".encode())


def listed(batch: ImportBatch) -> tuple[list[str], list[str]]:
    created = created_taxonomy(batch)
    return [g.name for g in created.facets], [t.key for t in created.tags]


def test_a_tag_two_imports_used_at_once_is_listed_by_the_one_that_created_it() -> None:
    # given: A creates fabric:Linen; B, running at the same time, names it too
    first = import_products(csv_file("A1,Shirt,fabric:Linen\n"), filename="a.csv").batch
    second = import_products(csv_file("B1,Dress,fabric:Linen\n"), filename="b.csv").batch
    # B started before A created the tag (two workers), so the tag was created
    # while B ran, and B's history has the tag new on its product.
    ImportBatch.objects.filter(pk=second.pk).update(started_at=first.started_at)
    second.refresh_from_db()

    # then: only A lists it
    assert listed(first) == (["fabric"], ["fabric:Linen"])
    assert listed(second) == ([], [])
    # The guess from history notes (kept for older imports) would list it for both.
    second.created_recorded = False
    assert listed(second) == (["fabric"], ["fabric:Linen"])


def test_an_import_rolled_back_while_writing_keeps_no_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(product_ids: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("annotation.services.importing.upsert.record_tag_changes", broken)

    with pytest.raises(RuntimeError):
        import_products(csv_file("A1,Shirt,fabric:Linen\n"), filename="a.csv")

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert not batch.created_recorded
    assert not TagGroup.objects.filter(name="fabric").exists()
    assert not ImportBatch.created_facets.through.objects.exists()
    assert not ImportBatch.created_tags.through.objects.exists()
    assert not created_taxonomy(batch)


def test_a_second_run_into_the_same_batch_counts_each_tag_once() -> None:
    batch = ImportBatchFactory(status=ImportBatch.Status.RUNNING)

    import_into(batch, csv_file("A1,Shirt,fabric:Linen\n"), filename="c.csv")
    import_into(batch, csv_file("A1,Shirt,fabric:Linen|fabric:Silk\n"), filename="c.csv")

    batch.refresh_from_db()
    created = created_taxonomy(batch)
    assert (created.facet_count, created.tag_count) == (1, 2)
    assert [t.key for t in created.tags] == ["fabric:Linen", "fabric:Silk"]
    assert ImportBatch.created_tags.through.objects.filter(importbatch=batch).count() == 2


def test_the_record_is_read_without_the_history_notes() -> None:
    batch = import_products(csv_file("A1,Shirt,fabric:Linen\n"), filename="a.csv").batch

    ReviewEvent.objects.filter(note=batch_note(batch.pk)).delete()

    assert batch.created_recorded
    assert listed(batch) == (["fabric"], ["fabric:Linen"])


def test_an_import_from_before_the_record_is_worked_out_from_its_history() -> None:
    batch = import_products(csv_file("A1,Shirt,fabric:Linen\n"), filename="a.csv").batch
    # As a batch imported before the record was kept: no lists, not recorded.
    batch.created_facets.clear()
    batch.created_tags.clear()
    ImportBatch.objects.filter(pk=batch.pk).update(created_recorded=False)
    batch.refresh_from_db()

    assert listed(batch) == (["fabric"], ["fabric:Linen"])


def test_the_record_is_read_in_a_few_queries(django_assert_max_num_queries: Any) -> None:
    rows = "".join(f"P{i},Shirt {i},size:S{i:02d}|fit:F{i:02d}\n" for i in range(30))
    batch = import_products(csv_file(rows), filename="c.csv").batch

    with django_assert_max_num_queries(3):
        created = created_taxonomy(batch)

    assert (created.facet_count, created.tag_count) == (2, 60)
    assert len(created.tags) == 10

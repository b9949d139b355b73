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

from annotation.models import ImportBatch, Tag, TagGroup
from annotation.services.importing import created_taxonomy, import_products
from tests.factories import TagFactory, TagGroupFactory

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

"""Imports over the API: a file queued as a background job and followed at
GET /api/v1/imports/<id>/, and the bulk create under the same caps."""

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from annotation.models import ImportBatch, Product, Tag, TagGroup
from tests.api.conftest import World
from tests.factories import TagFactory, TagGroupFactory

IMPORTS = reverse("api:imports")
BULK = reverse("api:products-bulk")


@pytest.fixture
def upload_dir(settings: Any, tmp_path: Path) -> Path:
    settings.TAGGER_UPLOAD_DIR = tmp_path / "uploads"
    return settings.TAGGER_UPLOAD_DIR


def upload(data: bytes, name: str = "catalog.jsonl.gz") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.mark.django_db
def test_a_file_is_queued_and_its_outcome_followed(
    integrations: APIClient, upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    data = gzip.compress(b'{"id": "new-1", "title": "Lamp"}\n{"id": "new-2"}\n')

    with django_capture_on_commit_callbacks(execute=True):
        response = integrations.post(
            IMPORTS, {"file": upload(data), "keep_valid": "true"}, format="multipart"
        )

    assert response.status_code == 202
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("api:import", args=[batch.pk])
    status = integrations.get(response["Location"]).json()
    assert status["status"] == "succeeded"
    assert (status["rows_created"], status["rows_rejected"], status["progress"]) == (1, 1, 100.0)
    assert status["errors"] == [{"line": 2, "reason": "missing required field: title"}]
    assert status["errors_omitted"] == 0
    assert status["file_size"] == len(data)
    assert Product.objects.filter(external_id="new-1").exists()
    assert list(upload_dir.iterdir()) == []


@pytest.mark.django_db
def test_a_queued_import_reports_its_state(integrations: APIClient, upload_dir: Path) -> None:
    # Without the commit the worker never gets it: the batch stays queued.
    response = integrations.post(IMPORTS, {"file": upload(b"id,title\n1,Mug\n", "a.csv")})

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert integrations.get(IMPORTS).json()["results"][0]["id"] == response.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("photo.png", b"\x89PNG", "upload a .csv, .tsv, .jsonl, .ndjson or .json file"),
        ("big.csv", b"id,title\n" + b"1,x\n" * 10, "the file is 49 bytes; the limit is 20 bytes"),
    ],
)
def test_a_file_of_another_kind_or_too_large_is_refused(
    integrations: APIClient, upload_dir: Path, settings: Any, name: str, data: bytes, reason: str
) -> None:
    settings.TAGGER_MAX_UPLOAD_BYTES = 20

    response = integrations.post(IMPORTS, {"file": upload(data, name)})

    assert response.status_code == 400
    assert reason in response.json()["file"][0]
    assert ImportBatch.objects.count() == 0


@pytest.mark.django_db
def test_only_admins_follow_imports(
    make_client: Callable[[str], tuple[APIClient, User | None]],
) -> None:
    client, _ = make_client("merchandiser")

    assert client.get(IMPORTS).status_code == 403


# -- the bulk create, under the same caps -------------------------------------------------------


@override_settings(TAGGER_IMPORT_MAX_ATTRIBUTES=2)
def test_the_bulk_create_caps_attributes(world: World, integrations: APIClient) -> None:
    rows = [
        {"id": "b-1", "title": "Lamp", "attributes": {"a": 1, "b": 2}},
        {"id": "b-2", "title": "Vase", "attributes": {"a": 1, "b": 2, "c": 3}},
    ]

    response = integrations.post(BULK, {"products": rows}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["errors"] == [
        {
            "index": 1,
            "reason": "the product has 3 attributes; the limit is 2 (every column or key "
            "that is not a product field is an attribute)",
        }
    ]
    assert not Product.objects.filter(external_id__startswith="b-").exists()


@override_settings(TAGGER_IMPORT_MAX_ERRORS=3)
def test_the_bulk_create_keeps_the_first_errors_and_counts_the_rest(
    world: World, integrations: APIClient
) -> None:
    rows = [{"id": f"b-{i}", "title": ""} for i in range(10)]

    response = integrations.post(BULK, {"products": rows}, format="json")

    body = response.json()
    assert [e["index"] for e in body["errors"]] == [0, 1, 2]
    assert (body["rejected"], body["errors_omitted"]) == (10, 7)


@override_settings(TAGGER_IMPORT_MAX_LINE_BYTES=1_000)
def test_the_bulk_create_names_the_row_over_the_size_cap(
    world: World, integrations: APIClient
) -> None:
    rows = [{"id": "b-1", "title": "Lamp"}, {"id": "b-2", "title": "Vase", "x": "y" * 2_000}]

    response = integrations.post(BULK, {"products": rows}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["errors"][0]["index"] == 1
    assert "longer than 1,000 bytes" in body["errors"][0]["reason"]


def test_the_bulk_create_takes_a_lone_surrogate_like_the_import(
    world: World, integrations: APIClient
) -> None:
    body = '{"products": [{"id": "b-1", "title": "Lamp \\ud800", "x": "\\udfff"}]}'

    response = integrations.post(BULK, body, content_type="application/json")

    assert response.status_code == 200, response.json()
    assert Product.objects.get(external_id="b-1").attributes == {"x": "\ufffd"}


def _imported(integrations: APIClient, capture: Any, data: bytes) -> dict[str, Any]:
    with capture(execute=True):
        response = integrations.post(IMPORTS, {"file": upload(data, "catalog.csv")})
    assert response.status_code == 202, response.json()
    assert "created" not in response.json()  # queued: it has created nothing yet
    return integrations.get(response["Location"]).json()


@pytest.mark.django_db
def test_the_result_says_which_facets_and_tags_the_import_created(
    integrations: APIClient, upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    color = TagGroupFactory(name="color")
    TagFactory(group=color, name="Blue")
    data = b"id,title,tags\nA1,Blue shirt,color:Blue|bogus:Nope\nA2,Red mug,color:Teal\n"

    status = _imported(integrations, django_capture_on_commit_callbacks, data)

    assert status["status"] == "succeeded"
    bogus = TagGroup.objects.get(name="bogus")
    nope, teal = Tag.objects.get(group=bogus), Tag.objects.get(group=color, name="Teal")
    assert status["created"] == {
        "facets": {
            "count": 1,
            "first": [{"id": bogus.pk, "name": "bogus"}],
            "irregular": {"count": 0, "first": []},
        },
        "tags": {
            "count": 2,
            "first": [{"id": nope.pk, "key": "bogus:Nope"}, {"id": teal.pk, "key": "color:Teal"}],
        },
    }


@pytest.mark.django_db
def test_the_created_lists_are_bounded_and_flag_a_facet_name_against_the_rule(
    integrations: APIClient, upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    rows = "".join(f"P{i},Shirt {i},size:S{i:02d}|Bad Name!!:x\n" for i in range(25))
    data = f"id,title,tags\n{rows}".encode()

    status = _imported(integrations, django_capture_on_commit_callbacks, data)

    # The import never fails for a facet name; it says so instead.
    assert (status["status"], status["rows_created"]) == ("succeeded", 25)
    created = status["created"]
    bad = TagGroup.objects.get(name="Bad Name!!")
    assert created["facets"]["irregular"] == {
        "count": 1,
        "first": [{"id": bad.pk, "name": "Bad Name!!"}],
    }
    assert created["tags"]["count"] == 26
    assert [t["key"] for t in created["tags"]["first"]] == [
        "Bad Name!!:x",
        *(f"size:S{i:02d}" for i in range(9)),
    ]


@pytest.mark.django_db
def test_a_failed_import_created_nothing(
    integrations: APIClient, upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    data = b"id,title,tags\nA1,Shirt,color:Teal\nA2,,\n"

    status = _imported(integrations, django_capture_on_commit_callbacks, data)

    assert status["status"] == "failed"
    assert status["created"] == {
        "facets": {"count": 0, "first": [], "irregular": {"count": 0, "first": []}},
        "tags": {"count": 0, "first": []},
    }


@pytest.mark.django_db
def test_the_import_list_leaves_the_created_taxonomy_to_the_detail(
    integrations: APIClient, upload_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    _imported(integrations, django_capture_on_commit_callbacks, b"id,title,tags\nA1,S,new:x\n")

    listed = integrations.get(IMPORTS).json()["results"]

    assert [("created" in batch) for batch in listed] == [False]


def test_the_schema_documents_what_an_import_created() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    detail = schema["paths"]["/api/v1/imports/{id}/"]["get"]["responses"]["200"]
    listed = schema["paths"]["/api/v1/imports/"]["get"]["responses"]["200"]
    body = detail["content"]["application/json"]

    assert body["schema"] == {"$ref": "#/components/schemas/ImportBatchDetail"}
    assert "created" in components["ImportBatchDetail"]["required"]
    assert "created" not in components["ImportBatch"]["properties"]
    assert listed["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedImportBatchList"
    }
    assert components["ImportCreated"]["required"] == ["facets", "tags"]
    assert components["CreatedFacets"]["required"] == ["count", "first", "irregular"]
    assert components["CreatedTags"]["required"] == ["count", "first"]
    assert "The first 10" in components["CreatedTags"]["properties"]["first"]["description"]
    assert body["example"]["created"]["tags"]["first"][0] == {"id": 41, "key": "bogus:Nope"}

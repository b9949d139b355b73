"""The admin's upload page: the file is stored, imported by a worker (eagerly
here, once the request's transaction commits), and the batch page shows the
progress and then the outcome."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotation.models import ImportBatch, Product
from tests.factories import ImportBatchFactory

pytestmark = pytest.mark.django_db
URL = reverse("annotation:import")


def upload(name: str, data: bytes, content_type: str = "text/csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


Upload = Callable[..., Any]


@pytest.fixture
def post_import(admin_client: Client, django_capture_on_commit_callbacks: Any) -> Upload:
    """POST the form, run the queued import, and return the batch page."""

    def post(data: dict[str, Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            posted = admin_client.post(URL, data)
        assert posted.status_code == 302, posted.content
        batch = ImportBatch.objects.get()
        assert posted["Location"] == reverse("annotation:import_batch", args=[batch.pk])
        return admin_client.get(posted["Location"])

    return post


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_merchandisers_are_forbidden(client: Client, merchandiser: User) -> None:
    client.force_login(merchandiser)

    response = client.post(URL, {"file": upload("a.csv", b"id,title\n1,Mug\n")})

    assert response.status_code == 403
    assert Product.objects.count() == 0


def test_the_form_shows_the_format_and_recent_imports(admin_client: Client) -> None:
    ImportBatchFactory(source="earlier.csv", status=ImportBatch.Status.SUCCEEDED)

    response = admin_client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'enctype="multipart/form-data"' in body
    assert "Any other column is kept in the product" in body
    assert "earlier.csv" in body


def test_an_upload_is_imported_and_the_counts_are_shown(
    post_import: Upload, admin_user: User
) -> None:
    data = b"id,title,tags\nA1,Blue shirt,color:Blue\nA2,Mug,\n"

    response = post_import({"file": upload("catalog.csv", data)})

    assert response.status_code == 200
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.SUCCEEDED
    assert batch.rows_created == 2
    assert batch.progress == 100
    assert Product.objects.count() == 2
    assert batch.created_by == admin_user
    assert "Every row was imported." in response.content.decode()


def test_a_rejected_upload_lists_line_and_reason_and_saves_nothing(post_import: Upload) -> None:
    data = b"id,title\nA1,Blue shirt\nA2,\n"

    response = post_import({"file": upload("catalog.csv", data)})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in body
    assert "<td>3</td><td>title is empty" in body
    assert Product.objects.count() == 0


def test_keep_valid_saves_the_good_rows(post_import: Upload) -> None:
    data = b"id,title\nA1,Blue shirt\nA2,\n"

    post_import({"file": upload("catalog.csv", data), "keep_valid": "on"})

    assert ImportBatch.objects.get().rows_created == 1
    assert list(Product.objects.values_list("external_id", flat=True)) == ["A1"]


def test_a_file_of_another_type_is_refused_before_import(admin_client: Client) -> None:
    response = admin_client.post(URL, {"file": upload("photo.png", b"\x89PNG\r\n", "image/png")})

    assert response.status_code == 400
    assert "Upload a .csv" in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_a_renamed_binary_is_reported_by_the_import(post_import: Upload) -> None:
    response = post_import({"file": upload("photo.csv", b"\x89PNG\r\n\x1a\n")})

    assert "not a CSV/JSON/JSONL file" in response.content.decode()
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED


def test_a_file_over_the_size_limit_is_refused(admin_client: Client, settings: object) -> None:
    settings.TAGGER_MAX_UPLOAD_BYTES = 20  # type: ignore[attr-defined]

    response = admin_client.post(
        URL, {"file": upload("catalog.csv", b"id,title\n" + b"1,x\n" * 10)}
    )

    assert response.status_code == 400
    assert "the limit is 20" in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_a_request_body_far_over_the_limit_is_refused_unread(
    admin_client: Client, settings: object
) -> None:
    settings.TAGGER_MAX_UPLOAD_BYTES = 20  # type: ignore[attr-defined]
    data = b"id,title\n" + b"1,x\n" * 40_000

    response = admin_client.post(URL, {"file": upload("catalog.csv", data)})

    assert response.status_code == 413
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("missing", ["file"])
def test_the_file_is_required(admin_client: Client, missing: str) -> None:
    response = admin_client.post(URL, {})

    assert response.status_code == 400
    assert response.context["form"].errors[missing]

"""Dates on the pages are <time> elements with an ISO datetime, which app.css
keeps on one line, so no narrow column breaks one mid-number."""

import re
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from annotation.models import ApiToken
from tests.factories import ImportBatchFactory, ModelVersionFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

WHEN = timezone.make_aware(datetime(2026, 12, 5, 21, 58, 2))
ISO = "2026-12-05T21:58:02"


def times(html: str) -> list[tuple[str, str]]:
    """Each <time>'s datetime attribute and text."""
    return re.findall(r'<time datetime="([^"]*)">([^<]*)</time>', html)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def admin(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def test_the_models_table_and_the_run_show_times(admin: Client) -> None:
    version = ModelVersionFactory()
    run = TrainingRunFactory()
    type(version).objects.filter(pk=version.pk).update(created_at=WHEN)
    type(run).objects.filter(pk=run.pk).update(created_at=WHEN)

    found = times(page(admin, "/training/"))

    assert len([t for t in found if t[0].startswith(ISO)]) >= 2, found


def test_the_run_progress_and_the_dashboard_show_times(admin: Client) -> None:
    run = TrainingRunFactory()
    type(run).objects.filter(pk=run.pk).update(created_at=WHEN)

    assert any(iso.startswith(ISO) for iso, _ in times(page(admin, "/training/progress/")))
    assert any(iso.startswith(ISO) for iso, _ in times(page(admin, "/")))


def test_api_tokens_show_when_they_were_last_used_as_a_time(
    admin: Client, admin_user: User
) -> None:
    ApiToken.objects.create(
        name="shop", user=admin_user, prefix="abc", key_hash="x" * 64, last_used_at=WHEN
    )

    found = times(page(admin, "/account/api/"))

    assert (f"{ISO}+00:00", "2026-12-05 21:58") in found, found


def test_the_import_history_and_progress_show_times(admin: Client) -> None:
    batch = ImportBatchFactory()
    type(batch).objects.filter(pk=batch.pk).update(started_at=WHEN)

    assert any(iso.startswith(ISO) for iso, _ in times(page(admin, "/import/")))
    assert any(iso.startswith(ISO) for iso, _ in times(page(admin, f"/import/{batch.pk}/")))

"""Dates on the pages are <time> elements with an ISO datetime, which app.css
keeps on one line, so no narrow column breaks one mid-number."""

import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from annotation.models import ApiToken, TagMerge
from annotation.services.taxonomy import merge_tags
from tests.factories import (
    ImportBatchFactory,
    ModelVersionFactory,
    TagFactory,
    TagGroupFactory,
    TrainingRunFactory,
)
from training.models import ModelVersion, TrainingRun

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


# Dates inside translated sentences: the sentence (and its Chinese) is unchanged,
# the date in it is a <time>.


def test_active_since_and_a_failed_run_on_the_models_page_are_times(admin: Client) -> None:
    ModelVersionFactory(status=ModelVersion.Status.ACTIVE, promoted_at=WHEN)
    run = TrainingRunFactory(status=TrainingRun.Status.FAILED, error="out of memory")
    type(run).objects.filter(pk=run.pk).update(finished_at=WHEN)

    html = page(admin, "/training/")

    assert re.search(rf'active since <time datetime="{ISO}[^"]*">[^<]+ago</time>', html), html
    assert re.search(rf'Run {run.pk}, <time datetime="{ISO}[^"]*">[^<]+</time>', html)


def test_the_measured_time_of_an_evaluation_set_is_a_time() -> None:
    figures = SimpleNamespace(current=True, n_eval=17, short="ab12cd", measured_at=WHEN)

    html = render_to_string("training/_eval_set.html", {"figures": figures})

    assert [iso for iso, _ in times(html)] == [f"{ISO}+00:00"], html
    assert "the current set: 17 products (set ab12cd), measured <time" in html


def test_a_merged_tag_says_when_in_a_time_and_in_chinese_too(admin: Client) -> None:
    group = TagGroupFactory(name="colour")
    source, into = TagFactory(group=group, name="Navy"), TagFactory(group=group, name="Blue")
    merge_tags(source, into, user=None)
    TagMerge.objects.update(created_at=WHEN)

    english = page(admin, f"/taxonomy/tags/{source.pk}/")
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = page(admin, f"/taxonomy/tags/{source.pk}/")

    assert re.search(rf'Merged <time datetime="{ISO}[^"]*">[^<]+</time> by —', english)
    assert re.search(rf'<time datetime="{ISO}[^"]*">[^<]+</time>', chinese)
    assert "Merged" not in chinese

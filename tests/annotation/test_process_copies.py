"""The review path's per-process copies of the active model version and of the
project settings: read once, used until any process changes them, never behind
the last commit. Committed transactions (transactional_db), as in production,
where the copies are kept. The taxonomy's copy has its own tests
(test_taxonomy_snapshot.py)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from annotation.models import ProjectSettings
from annotation.services import active_model, project_settings, queue
from tests.factories import ModelVersionFactory, ProductFactory, QueueEntryFactory, UserFactory
from training.models import ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)

ACTIVE = ModelVersion.Status.ACTIVE
ARCHIVED = ModelVersion.Status.ARCHIVED


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


def test_the_active_version_is_read_once(django_assert_num_queries) -> None:
    version = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == version
    with django_assert_num_queries(0):
        assert active_model.active_version() == version


def test_a_promotion_shows_on_the_next_read() -> None:
    first = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == first
    second = ModelVersionFactory(status=ModelVersion.Status.READY)
    with transaction.atomic():  # as training.services.versions.promote does
        ModelVersion.objects.filter(pk=first.pk).update(status=ARCHIVED)
        second.status = ACTIVE
        second.save(update_fields=["status"])
    assert active_model.active_version() == second


def test_the_first_version_shows_without_a_kept_none() -> None:
    assert active_model.active_version() is None
    version = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == version


def test_a_deleted_version_goes() -> None:
    version = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == version
    version.delete()
    assert active_model.active_version() is None


def test_a_change_in_another_process_is_seen() -> None:
    """Another process moves the shared counter (its signal) after writing."""
    version = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == version
    ModelVersion.objects.filter(pk=version.pk).update(status=ARCHIVED)  # no signal here
    assert active_model.active_version() == version  # nothing said it changed
    cache.set("tagger:active-version:generation", 12345)
    assert active_model.active_version() is None


def test_an_uncommitted_change_is_never_kept() -> None:
    """Inside its own transaction a thread sees its change; once that rolls back,
    every read agrees with the database again."""
    version = ModelVersionFactory(status=ACTIVE)
    assert active_model.active_version() == version
    seen_inside = []

    def archive_then_fail() -> None:
        with transaction.atomic():
            version.status = ARCHIVED
            version.save(update_fields=["status"])
            seen_inside.append(active_model.active_version())
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        archive_then_fail()
    assert seen_inside == [None]
    assert active_model.active_version() == version
    assert active_model.active_version() == version  # and kept again


def test_the_lease_length_follows_the_saved_settings() -> None:
    reviewer = UserFactory()
    QueueEntryFactory(product=ProductFactory())
    settings = ProjectSettings.load()
    settings.lease_seconds = 600
    settings.save()
    entry = queue.claim_next(reviewer)
    assert entry is not None
    assert entry.lease_expires_at is not None
    assert entry.lease_expires_at - timezone.now() > timedelta(seconds=500)
    assert project_settings.current().lease_seconds == 600

    settings.lease_seconds = 60
    settings.save()
    assert project_settings.current().lease_seconds == 60
    queue.release(entry, reviewer)
    again = queue.claim_next(reviewer)
    assert again is not None
    assert again.lease_expires_at is not None
    assert again.lease_expires_at - timezone.now() <= timedelta(seconds=60)


def test_the_settings_are_read_once(django_assert_num_queries) -> None:
    ProjectSettings.load()
    project_settings.current()
    with django_assert_num_queries(0):
        assert project_settings.current().pk == 1

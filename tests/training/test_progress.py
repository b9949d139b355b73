"""Progress of re-scoring and ranking: recorded by the jobs, shown by the
dashboard and followed by `manage.py rescore` with progress bars."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from celery import current_app
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from annotation.models import ProductTag, Suggestion
from tests.factories import ProductFactory, TrainingRunFactory
from tests.training.conftest import MakeCatalogue
from tests.training.test_ranking import make_version, suggest, tags, use_strategy  # noqa: F401
from training.models import ModelVersion, TrainingRun
from training.services import progress, ranking


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_a_tracker_records_stages_and_counts() -> None:
    heard: list[progress.Progress] = []
    tracker = progress.Tracker(progress.RANKING, 7, 100, progress.READING, listener=heard.append)
    tracker.stage(progress.WRITING, total=40)
    tracker.advance(10)
    tracker.advance(15)

    now = progress.current(progress.RANKING)
    assert now is not None
    assert (now.version_id, now.stage, now.done, now.total) == (7, progress.WRITING, 25, 40)
    assert now.percent == 62.5
    assert not now.finished
    tracker.finish()
    assert progress.current(progress.RANKING).finished
    assert [p.stage for p in heard][-1] == progress.DONE
    assert heard[-2].done == 25


def test_scoring_chunks_add_to_the_catalogues_job_and_finish_it() -> None:
    progress.Tracker(progress.SCORING, 3, 2048, progress.SCORING_STAGE)
    first = progress.Tracker.resume(progress.SCORING)
    second = progress.Tracker.resume(progress.SCORING)
    assert first is not None
    assert second is not None
    first.advance(1024)
    assert not progress.current(progress.SCORING).finished
    second.advance(1024)
    assert progress.current(progress.SCORING).finished
    assert progress.Tracker.resume(progress.SCORING) is None


def test_a_new_job_starts_its_own_count() -> None:
    old = progress.Tracker(progress.SCORING, 3, 10, progress.SCORING_STAGE)
    old.advance(10)
    progress.Tracker(progress.SCORING, 4, 10, progress.SCORING_STAGE)
    now = progress.current(progress.SCORING)
    assert (now.version_id, now.done) == (4, 0)


@pytest.mark.django_db
def test_rank_queue_reports_reading_choosing_writing_done(tags: dict) -> None:  # noqa: F811
    use_strategy("margin_min")
    version = make_version()
    products = ProductFactory.create_batch(5, queued=True)
    for product in products:
        suggest(version, product, tags["color:red"], 0.4)
    heard: list[progress.Progress] = []

    ranked = ranking.rank_queue(version, seed=1, listener=heard.append)

    assert ranked == 5
    stages = list(dict.fromkeys(p.stage for p in heard))
    assert stages == [progress.READING, progress.CHOOSING, progress.WRITING, progress.DONE]
    final = progress.current(progress.RANKING)
    assert (final.version_id, final.done, final.total) == (version.pk, 5, 5)


@pytest.mark.django_db
def test_a_ranking_that_fails_says_so(tags: dict, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    use_strategy("margin_min")
    version = make_version()
    ProductFactory.create_batch(2, queued=True)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(ranking, "score_matrix", explode)
    with pytest.raises(RuntimeError):
        ranking.rank_queue(version)
    assert progress.current(progress.RANKING).stage == progress.FAILED


@pytest.mark.django_db
def test_rescore_inline_scores_and_ranks_with_bars(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager],
) -> None:
    products = make_catalogue(30)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("train", "--mode", "head", "--inline", stdout=StringIO(), stderr=StringIO())
    version = ModelVersion.objects.active()
    assert version is not None
    cache.clear()
    out, err = StringIO(), StringIO()

    call_command("rescore", "--inline", "--full", stdout=out, stderr=err)

    assert f"model v{version.pk} scored {len(products)} products" in out.getvalue()
    assert "ranked" in out.getvalue()
    scoring = progress.current(progress.SCORING)
    assert (scoring.version_id, scoring.done, scoring.total) == (version.pk, 30, 30)
    assert scoring.finished
    assert progress.current(progress.RANKING).stage == progress.DONE
    scored = Suggestion.objects.filter(model_version=version)
    assert scored.values("product").distinct().count() == len(products)


@pytest.mark.django_db(transaction=True)
def test_rescore_wait_follows_the_workers_progress(
    ml_settings: Path, make_catalogue: MakeCatalogue
) -> None:
    """Tasks run eagerly here (the test settings), sent when the command's
    transaction commits: the scoring task and the ranking it enqueues record
    their progress, which --wait reads."""
    make_catalogue(30)
    call_command("train", "--mode", "head", "--inline", stdout=StringIO(), stderr=StringIO())
    version = ModelVersion.objects.active()
    assert version is not None
    out = StringIO()

    call_command("rescore", "--full", "--wait", stdout=out, stderr=StringIO())

    assert f"model v{version.pk} scored 30 of 30 products" in out.getvalue()
    assert "ranked" in out.getvalue()


@pytest.mark.django_db
def test_rescore_wait_without_a_worker_says_how_to_start_one(
    ml_settings: Path, make_catalogue: MakeCatalogue
) -> None:
    make_catalogue(5)
    version = make_version()
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with (
            override_settings(TAGGER_SCORE_QUEUE="tagger-test-nobody-scores"),
            override_settings(TAGGER_WORKER_PING_SECONDS=0.5),
            pytest.raises(CommandError) as raised,
        ):
            call_command(
                "rescore",
                "--model-version",
                str(version.pk),
                "--wait",
                "--worker-wait",
                "0",
                stdout=StringIO(),
                stderr=StringIO(),
            )
    finally:
        current_app.conf.task_always_eager = was
    message = str(raised.value)
    assert "no worker consumed the queue 'tagger-test-nobody-scores'" in message
    assert "manage.py rescore --inline" in message


@pytest.mark.django_db
def test_dashboard_shows_background_work(admin_user: object) -> None:
    tracker = progress.Tracker(progress.SCORING, 12, 4096, progress.SCORING_STAGE)
    tracker.advance(1024)
    client = Client()
    client.force_login(admin_user)

    page = client.get("/").content.decode()
    assert "Re-scoring the catalogue" in page
    assert "(v12)" in page
    assert "1024 of 4096" in page
    assert 'hx-trigger="every 3s"' in page

    fragment = client.get("/dashboard/training/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert fragment.status_code == 200


@pytest.mark.django_db
def test_dashboard_warns_when_a_queued_run_has_no_worker(
    admin_user: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = TrainingRunFactory(mode="head")
    TrainingRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with override_settings(
            TAGGER_GPU_QUEUE="tagger-test-nobody-trains", TAGGER_WORKER_PING_SECONDS=0.5
        ):
            client = Client()
            client.force_login(admin_user)
            page = client.get("/").content.decode()
    finally:
        current_app.conf.task_always_eager = was
    assert "No worker consumes the queue" in page
    assert "celery -A tagger worker -Q tagger-test-nobody-trains" in page
    assert ProductTag.objects.count() == 0

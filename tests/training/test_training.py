"""Training runs end to end in eager mode, with a tiny BERT."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from annotation.models import Product, ProjectSettings, Suggestion
from tests.factories import ModelVersionFactory, ProductFactory, TagFactory, TagGroupFactory
from tests.ml.conftest import install_as_multilingual
from tests.training.conftest import MakeCatalogue
from training import errors, tasks
from training.ml import model as ml_model
from training.ml.zero_shot import MULTILINGUAL_SPREAD
from training.models import ModelVersion, TrainingRun
from training.services import datasets, job, runs, versions

Capture = Callable[..., object]


def train(capture: Capture, user: User | None, mode: str = "head") -> TrainingRun:
    """Trigger a run as the page does; eager mode runs the task, and the
    scoring and ranking that promotion enqueues, when the block commits."""
    with capture(execute=True):
        run = runs.trigger_training(user, mode)
    run.refresh_from_db()
    return run


@pytest.fixture
def project_settings(db: None) -> ProjectSettings:
    settings = ProjectSettings.load()
    settings.auto_promote = True
    settings.promote_margin = 0.0
    settings.save()
    return settings


@pytest.mark.django_db
def test_a_run_trains_records_metrics_promotes_and_rescores_the_catalogue(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    project_settings: ProjectSettings,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    products = make_catalogue(60, labeled=50)

    run = train(django_capture_on_commit_callbacks, admin_user)

    assert run.status == TrainingRun.Status.SUCCEEDED
    assert run.progress == 100.0
    assert run.in_flight is None
    for stage in ("preparing data", "evaluating on the frozen set", "saving the model"):
        assert stage in run.log
    version = run.model_version
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.mode == "head"
    assert version.metrics["labeled_count"] == 50
    assert version.metrics["n_train"] + version.metrics["n_eval"] == 50
    assert version.metrics["n_eval"] > 0
    assert 0.0 <= version.metrics["micro_f1"] <= 1.0
    assert "macro_f1" in version.metrics
    assert version.metrics["per_tag"]
    assert set(version.thresholds) == set(version.tag_vocab)
    assert versions.has_artifact(version)
    scored = set(Suggestion.objects.filter(model_version=version).values_list("product", flat=True))
    assert scored == {p.pk for p in products}


@pytest.mark.django_db
def test_progress_reaches_the_caller_in_order(
    ml_settings: Path, make_catalogue: MakeCatalogue, project_settings: ProjectSettings
) -> None:
    make_catalogue(30)
    run = runs.trigger_training(None, "head", enqueue=False)
    seen: list[float] = []

    job.run_training(run.pk, listener=lambda fraction, stage: seen.append(fraction))

    assert seen[0] == 0.0
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


@pytest.mark.django_db
def test_it_keeps_the_active_model_when_training_fails(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    make_catalogue(30)
    active = ModelVersionFactory(mode="head", status="active", base_model="tiny")

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of GPU memory")

    monkeypatch.setattr(ml_model, "train_tagger", explode)

    with (
        pytest.raises(RuntimeError, match="out of GPU memory"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        runs.trigger_training(admin_user, "head")  # eager: the task runs, and raises, here

    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED
    assert run.error.startswith("RuntimeError: out of GPU memory")
    assert "Traceback" in run.error
    assert run.in_flight is None
    assert run.model_version.status == ModelVersion.Status.FAILED
    active.refresh_from_db()
    assert active.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_a_cancelled_run_stops_and_leaves_no_new_model(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_catalogue(30)
    run = runs.trigger_training(None, "head", enqueue=False)
    monkeypatch.setattr(job, "STOP_CHECK_EVERY_S", 0.0)
    real_train = ml_model.train_tagger

    def cancel_on_start(*args: object, **kwargs: object) -> object:
        # The admin presses cancel once the model starts training.
        runs.cancel_training(TrainingRun.objects.get(pk=run.pk))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(ml_model, "train_tagger", cancel_on_start)

    assert job.run_training(run.pk) is None

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert run.in_flight is None
    assert run.model_version.status == ModelVersion.Status.FAILED
    assert ModelVersion.objects.active() is None


@pytest.mark.django_db
def test_training_never_reads_the_evaluation_set(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_catalogue(40)
    seen: list[str] = []
    real_train = ml_model.train_tagger

    def spy(texts: list[str], *args: object, **kwargs: object) -> object:
        seen.extend(texts)
        return real_train(texts, *args, **kwargs)

    monkeypatch.setattr(ml_model, "train_tagger", spy)
    run = runs.trigger_training(None, "head", enqueue=False)

    job.run_training(run.pk)

    eval_texts = set(Product.objects.filter(is_eval=True).values_list("normalized_text", flat=True))
    assert eval_texts
    assert len(seen) == 40 - len(eval_texts)
    assert not eval_texts & set(seen)


@pytest.mark.django_db
def test_rollback_makes_new_scoring_use_the_earlier_version(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    admin_user: User,
    project_settings: ProjectSettings,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    make_catalogue(30)
    first = train(django_capture_on_commit_callbacks, admin_user).model_version
    make_catalogue(10, start=30)
    project_settings.promote_margin = -1.0  # whatever it scores, the second one wins
    project_settings.save()
    second = train(django_capture_on_commit_callbacks, admin_user).model_version
    assert second.status == ModelVersion.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        versions.rollback(ModelVersion.objects.get(pk=first.pk), admin_user)
    [new] = make_catalogue(1, labeled=0, start=40)
    tasks.score_catalog(ModelVersion.objects.active().pk)

    assert ModelVersion.objects.active().pk == first.pk
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.ARCHIVED
    assert Suggestion.objects.filter(product=new, model_version=first).exists()
    assert not Suggestion.objects.filter(product=new, model_version=second).exists()


@pytest.mark.django_db
def test_rolling_forward_is_refused(
    ml_settings: Path, make_catalogue: MakeCatalogue, project_settings: ProjectSettings
) -> None:
    older = ModelVersionFactory(mode="head", status="active", base_model="tiny")
    newer = ModelVersionFactory(mode="head", status="ready", base_model="tiny")

    with pytest.raises(errors.PromotionError, match="newer than the active"):
        versions.rollback(newer)

    older.refresh_from_db()
    assert older.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_scoring_twice_writes_the_same_rows(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
) -> None:
    products = make_catalogue(30)
    run = runs.trigger_training(None, "head", enqueue=False)
    version = job.run_training(run.pk)
    ids = [p.pk for p in products]

    first = tasks.scoring.score_products(version, ids, chunk_size=7)
    rows = Suggestion.objects.filter(model_version=version).count()
    second = tasks.scoring.score_products(version, ids, chunk_size=11)

    assert first == second == rows
    assert Suggestion.objects.filter(model_version=version).count() == rows
    assert rows >= len(ids)  # every product keeps at least its best tag


@pytest.mark.django_db
def test_incremental_scoring_only_takes_new_or_changed_products(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
) -> None:
    products = make_catalogue(20)
    run = runs.trigger_training(None, "head", enqueue=False)
    version = job.run_training(run.pk)
    tasks.score_catalog(version.pk)

    changed = products[3]
    changed.title = "blue silk hat number 3"
    changed.save()
    [added] = make_catalogue(1, labeled=0, start=20)

    assert set(tasks.scoring.pending_product_ids(version)) == {changed.pk, added.pk}


@pytest.mark.django_db
def test_a_big_catalogue_is_scored_as_a_group_of_chunks_then_ranked(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    products = make_catalogue(25)
    run = runs.trigger_training(None, "head", enqueue=False)
    project_settings.auto_promote = False
    project_settings.save()
    version = job.run_training(run.pk)
    versions.ModelVersion.objects.filter(pk=version.pk).update(status="active")
    monkeypatch.setattr(tasks, "FANOUT_MIN_PRODUCTS", 10)
    monkeypatch.setattr(tasks, "FANOUT_CHUNK", 6)
    ranked: list = []
    monkeypatch.setattr(tasks.rank_queue, "apply_async", lambda *a, **kw: ranked.append(a))

    # The chunk tasks and the ranking go out through the outbox, after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.score_catalog(version.pk)

    scored = set(Suggestion.objects.filter(model_version=version).values_list("product", flat=True))
    assert scored == {p.pk for p in products}
    assert ranked  # the chunk that found nothing left ranked the queue


@pytest.mark.django_db
def test_full_mode_fine_tunes_the_tiny_encoder(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    project_settings: ProjectSettings,
) -> None:
    make_catalogue(30)
    run = runs.trigger_training(None, "full", enqueue=False)

    version = job.run_training(run.pk)

    assert version.mode == ModelVersion.Mode.FULL
    assert versions.has_artifact(version)
    assert versions.load_model(version).mode == "full"


@pytest.mark.django_db
def test_the_zero_shot_version_starts_scoring_before_any_label(
    ml_settings: Path,
    make_catalogue: MakeCatalogue,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    products = make_catalogue(12, labeled=0)

    with django_capture_on_commit_callbacks(execute=True):
        version = tasks.scoring.ensure_initial_scoring()

    assert version.mode == ModelVersion.Mode.ZERO_SHOT
    assert version.status == ModelVersion.Status.ACTIVE
    scored = set(Suggestion.objects.filter(model_version=version).values_list("product", flat=True))
    assert scored == {p.pk for p in products}
    assert tasks.scoring.ensure_initial_scoring().pk == version.pk  # idempotent


@pytest.mark.django_db
def test_a_chinese_catalogue_starts_zero_shot_on_the_multilingual_encoder(
    ml_settings: Path, tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catalogue's language chooses the zero-shot encoder, as it does training's.
    e5 = install_as_multilingual(tiny_bert, ml_settings / "encoders", monkeypatch)
    TagFactory(group=TagGroupFactory(name="材质"), name="真丝")
    for title in ["真丝连衣裙 红色", "藏青色羊毛大衣", "纯棉衬衫"]:
        ProductFactory(title=title)

    with override_settings(TAGGER_BASE_MODEL=""):
        version = versions.ensure_zero_shot_version()

    assert version.base_model == str(e5)
    assert versions.load_model(version).scorer.calibration["spread"] == MULTILINGUAL_SPREAD


@pytest.mark.django_db
def test_the_catalogue_texts_read_for_its_language_are_the_first_products() -> None:
    first = [ProductFactory(title=f"产品 {i}", description="描述") for i in range(3)]

    assert datasets.catalogue_texts(limit=2) == [p.model_text for p in first[:2]]

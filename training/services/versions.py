"""Model versions: which one is active, promotion, rollback, the zero-shot start,
and loading a version's artifact for inference."""

import logging
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.services import active_model, webhooks
from training import jobs
from training.errors import PromotionError
from training.models import ModelVersion
from training.services import artifact_store, embedding_store

if TYPE_CHECKING:
    from training.ml.embeddings import CacheLocation
    from training.ml.model import TaggerModel

logger = logging.getLogger(__name__)

PROMOTABLE = (ModelVersion.Status.READY, ModelVersion.Status.ARCHIVED)


def artifact_dir(version: ModelVersion) -> Path:
    """Where this machine reads the version's files: artifact_path (absolute, as
    written), or resolved under MODEL_DIR when relative; for a version published to
    MODEL_STORAGE_URL, its copy in this worker's read cache, MODEL_DIR/v<id>."""
    if artifact_store.remote_name(version.artifact_path or "") is not None:
        return Path(settings.MODEL_DIR) / f"v{version.pk}"
    path = Path(version.artifact_path or f"v{version.pk}")
    return path if path.is_absolute() else Path(settings.MODEL_DIR) / path


# Published versions seen in the store by this process (a publication is never
# changed once its marker exists, so a yes is kept; a no is asked again).
_PUBLISHED: set[str] = set()


def has_artifact(version: ModelVersion) -> bool:
    if not version.artifact_path:
        return False
    if artifact_dir(version).is_dir():
        return True
    name = artifact_store.remote_name(version.artifact_path)
    if name is None:
        return False
    if version.artifact_path not in _PUBLISHED and artifact_store.is_published(name):
        _PUBLISHED.add(version.artifact_path)
    return version.artifact_path in _PUBLISHED


def local_artifact(version: ModelVersion) -> Path:
    """The version's files on this machine, fetched from the object store into the
    local read cache first when they are published there and not here yet."""
    directory = artifact_dir(version)
    name = artifact_store.remote_name(version.artifact_path or "")
    if name is not None and not directory.is_dir():
        artifact_store.fetch(name, directory)
    return directory


def discard_artifact(version: ModelVersion) -> None:
    """Remove the files of a version that failed: the local directory and, with an
    object store, whatever of it was uploaded (invisible without its marker)."""
    shutil.rmtree(artifact_dir(version), ignore_errors=True)
    if artifact_store.configured():
        try:
            artifact_store.delete(f"v{version.pk}")
        except Exception:
            logger.warning("could not remove v%s from the model store", version.pk, exc_info=True)


_MODEL_CACHE: "OrderedDict[tuple[int, str], TaggerModel]" = OrderedDict()
_MODEL_CACHE_SIZE = 2
_MODEL_CACHE_LOCK = threading.Lock()


def embedding_cache_dir() -> "CacheLocation":
    """Where encoder embeddings are cached by text, shared by training and scoring:
    a directory on this worker, or the shared database (TAGGER_EMBEDDING_CACHE)."""
    return embedding_store.embedding_cache()


def load_model(version: ModelVersion) -> "TaggerModel":
    """The version's model, loaded once per process (a worker scores many chunks
    with the same version; keeping two covers a promotion in progress)."""
    from training.ml.model import TaggerModel

    key = (version.pk, str(artifact_dir(version)))
    with _MODEL_CACHE_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is not None:
            _MODEL_CACHE.move_to_end(key)
            return model
    directory = local_artifact(version) if version.artifact_path else None
    if directory is None or not directory.is_dir():
        raise FileNotFoundError(
            f"model files of v{version.pk} not found at {artifact_dir(version)}"
        )
    model = TaggerModel.load(directory, cache_dir=embedding_cache_dir())
    with _MODEL_CACHE_LOCK:
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    return model


def promote(version: ModelVersion, user: User | None = None) -> ModelVersion:
    """Make `version` the active model, archiving the previous one in the same
    transaction; once committed, re-score the catalogue with it and re-rank the
    queue."""
    version.refresh_from_db()
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    if version.status not in PROMOTABLE:
        raise PromotionError(
            f"v{version.pk} is {version.get_status_display().lower()}; only a ready or "
            "archived version can become active"
        )
    if not has_artifact(version):
        raise PromotionError(f"v{version.pk} has no model files at {artifact_dir(version)}")
    try:
        with transaction.atomic():
            previous = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(
                pk=version.pk
            )
            previous_id = previous.values_list("pk", flat=True).first()
            previous.update(status=ModelVersion.Status.ARCHIVED)
            version.status = ModelVersion.Status.ACTIVE
            version.promoted_at = timezone.now()
            version.save(update_fields=["status", "promoted_at"])
            webhooks.notify_model_promoted(
                version_id=version.pk,
                mode=version.mode,
                base_model=version.base_model,
                promoted_at=version.promoted_at,
                previous_id=previous_id,
            )
            # Score every product with it, then re-rank the queue (the outbox
            # message commits with the promotion and is sent after it).
            jobs.score_catalog(version.pk)
    except IntegrityError as exc:
        # The one-active constraint: another promotion committed in between.
        raise PromotionError("another version was promoted at the same moment; retry") from exc
    logger.info(
        "model v%s (%s) promoted by %s", version.pk, version.mode, getattr(user, "pk", None)
    )
    return version


def rollback(to_version: ModelVersion, user: User | None = None) -> ModelVersion:
    """Return to an earlier version (ready or archived, with its files on disk)."""
    current = ModelVersion.objects.active()
    if current is not None and (to_version.created_at, to_version.pk) > (
        current.created_at,
        current.pk,
    ):
        raise PromotionError(
            f"v{to_version.pk} is newer than the active v{current.pk}; promote it instead"
        )
    return promote(to_version, user)


def register_built_model(
    version: ModelVersion, model: "TaggerModel", metrics: dict[str, Any] | None = None
) -> ModelVersion:
    """Write a built model's files as `version`'s artifact (under MODEL_DIR) and
    record what it is (base model, tag vocabulary, thresholds, metrics): the
    version becomes ready. `version` is a row in training status; on an error the
    caller fails it and removes the partial files."""
    directory = Path(settings.MODEL_DIR) / f"v{version.pk}"
    version.artifact_path = str(directory)
    model.save(directory)
    if artifact_store.configured():
        # Every worker loads it from the store; this one keeps its copy as cached.
        artifact_store.publish(f"v{version.pk}", directory)
        version.artifact_path = artifact_store.remote_url(f"v{version.pk}")
    version.base_model = model.base_model
    version.tag_vocab = list(model.tag_vocab)
    version.thresholds = dict(zip(model.tag_vocab, map(float, model.thresholds), strict=True))
    if metrics is not None:
        version.metrics = metrics
    version.status = ModelVersion.Status.READY
    version.save(
        update_fields=[
            "artifact_path",
            "base_model",
            "tag_vocab",
            "thresholds",
            "metrics",
            "status",
        ]
    )
    return version


def ensure_zero_shot_version(user: User | None = None) -> ModelVersion | None:
    """The zero-shot version (tag names, aliases and facets, no labels), built and
    saved the first time; it becomes active only when no version is. Returns None
    while the taxonomy is empty. Loads the encoder: call it from a worker or a
    command, never while rendering a page."""
    from training.ml.model import build_zero_shot
    from training.services.datasets import catalogue_texts, labeled_examples, tag_specs

    existing = (
        ModelVersion.objects.filter(mode=ModelVersion.Mode.ZERO_SHOT)
        .exclude(status=ModelVersion.Status.FAILED)
        .first()
    )
    if existing is not None and has_artifact(existing):
        return existing
    specs = tag_specs()
    if not specs:
        return None
    base_model = settings.TAGGER_BASE_MODEL or None
    # Tags already decided (e.g. imported) say which facets are single-valued.
    labels = labeled_examples(exclude_eval=False).labels
    # The catalogue's language chooses the encoder, as it will for training.
    model = build_zero_shot(
        specs, base_model=base_model, cache_dir=embedding_cache_dir(), labels=labels,
        texts=catalogue_texts(),
    )  # fmt: skip
    version = ModelVersion.objects.create(
        mode=ModelVersion.Mode.ZERO_SHOT,
        status=ModelVersion.Status.TRAINING,
        base_model=model.base_model,
        created_by=user,
    )
    try:
        register_built_model(version, model)
    except Exception:
        version.status = ModelVersion.Status.FAILED
        version.save(update_fields=["status"])
        discard_artifact(version)
        raise
    if ModelVersion.objects.active() is None:
        try:
            with transaction.atomic():
                ModelVersion.objects.filter(pk=version.pk).update(
                    status=ModelVersion.Status.ACTIVE, promoted_at=timezone.now()
                )
                active_model.versions_changed()  # an update sends no signal
        except IntegrityError:
            logger.info("another version became active first; v%s stays ready", version.pk)
        version.refresh_from_db()
    return version

"""The models page (admins): versions and their metrics, the learning curve,
per-tag quality, and the training run in progress."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from annotation.inputs import parse_id
from annotation.models import ProductTag, Tag
from annotation.templatetags.labels import facet_and_tag_label
from annotation.views.access import SignedInRequest, admin_required
from training import errors
from training import learning_curve as curves
from training.models import ModelVersion, TrainingRun
from training.services import comparison, runs, versions
from training.services.datasets import TRUSTED_SOURCES

# A tag with fewer labeled examples than this is marked rare on the page.
PER_TAG_SORTS = {"support", "f1", "precision", "recall", "examples", "tag"}
VERSIONS_SHOWN = 50


def _per_tag_rows(figures: comparison.Figures | None, sort: str, descending: bool) -> list[dict]:
    if figures is None:
        return []
    per_tag = figures.per_tag
    examples = _label_counts()
    labels = _tag_labels()
    rows = [
        {
            "tag": key,
            # A tag renamed or deleted since the measurement keeps its key.
            "label": labels.get(key, key),
            "precision": row.get("precision", 0.0),
            "recall": row.get("recall", 0.0),
            "f1": row.get("f1", 0.0),
            "support": row.get("support", 0),
            "examples": examples.get(key, 0),
            "rare": examples.get(key, 0) < settings.TAGGER_RARE_TAG_EXAMPLES,
        }
        for key, row in per_tag.items()
    ]
    # Names sort as the reader sees them, in the reader's language.
    column = "label" if sort == "tag" else sort
    rows.sort(key=lambda r: (r[column], r["label"]), reverse=descending)
    return rows


def _tag_labels() -> dict[str, str]:
    """Every tag's "facet: tag" label in the reader's language, by tag key."""
    return {tag.key: facet_and_tag_label(tag) for tag in Tag.objects.select_related("group")}


def _label_counts() -> dict[str, int]:
    """Approved, person-decided examples per tag key (training and evaluation)."""
    rows = (
        ProductTag.objects.filter(state=ProductTag.State.APPROVED, source__in=TRUSTED_SOURCES)
        .values("tag__group__name", "tag__name")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {f"{r['tag__group__name']}:{r['tag__name']}": r["n"] for r in rows}


def _sort_links(sort: str, descending: bool) -> list[dict[str, Any]]:
    """Column headers of the per-tag table: a click sorts by the column (names
    A-Z, numbers largest first); a second click reverses."""
    titles = [
        ("tag", _("Tag")),
        ("support", _("Support")),
        ("examples", _("Labeled examples")),
        ("precision", _("Precision")),
        ("recall", _("Recall")),
        ("f1", _("F1")),
    ]
    links = []
    for key, title in titles:
        active = key == sort
        if active:
            next_dir = "asc" if descending else "desc"
        else:
            next_dir = "asc" if key == "tag" else "desc"
        links.append({"key": key, "title": title, "active": active, "dir": next_dir})
    return links


def _progress_context(run: TrainingRun | None, polled: bool) -> dict[str, Any]:
    return {"run": run, "polled": polled}


@require_GET
@admin_required
def models_page(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "support")
    if sort not in PER_TAG_SORTS:
        sort = "support"
    descending = request.GET.get("dir", "desc" if sort != "tag" else "asc") != "asc"
    all_versions = list(
        ModelVersion.objects.select_related("created_by").order_by("-created_at", "-id")[
            :VERSIONS_SHOWN
        ]
    )
    active = next((v for v in all_versions if v.status == ModelVersion.Status.ACTIVE), None)
    if active is None:
        active = ModelVersion.objects.active()
    eval_set = comparison.current_eval_set()
    for version in all_versions:
        promotable = version.status in versions.PROMOTABLE and versions.has_artifact(version)
        is_older = active is not None and (version.created_at, version.pk) < (
            active.created_at,
            active.pk,
        )
        # For the template only: actions, and the figures with the set they come from.
        version.promotable = promotable  # type: ignore[attr-defined]
        version.is_older = is_older  # type: ignore[attr-defined]
        version.figures = comparison.figures(version, eval_set)  # type: ignore[attr-defined]
        version.stale = comparison.needs_remeasure(version, eval_set)  # type: ignore[attr-defined]
    active_figures = comparison.figures(active, eval_set) if active is not None else None
    curve = curves.learning_curve(all_versions, {"micro": _("micro-F1"), "macro": _("macro-F1")})
    context = {
        "versions": all_versions,
        "active": active,
        "active_figures": active_figures,
        "eval_set": eval_set,
        "stale": [v.pk for v in all_versions if v.stale],  # type: ignore[attr-defined]
        "curve": curve,
        "per_tag": _per_tag_rows(active_figures, sort, descending),
        "sort": sort,
        "per_tag_columns": _sort_links(sort, descending),
        "descending": descending,
        "rare_examples": settings.TAGGER_RARE_TAG_EXAMPLES,
        "failed_runs": TrainingRun.objects.filter(status=TrainingRun.Status.FAILED)[:5],
        "modes": runs.TRAIN_MODES,
        **_progress_context(runs.in_flight_run() or TrainingRun.objects.first(), False),
    }
    return render(request, "training/models.html", context)


@require_GET
@admin_required
def run_progress(request: SignedInRequest) -> HttpResponse:
    """The progress fragment htmx polls every 2 s while a run is in flight. When
    the polled run has finished it answers once more without polling, and asks
    the page to reload so the new version shows."""
    run_id = parse_id(request.GET.get("run", ""))
    run = TrainingRun.objects.filter(pk=run_id).first() if run_id is not None else None
    if run is None:
        run = runs.in_flight_run() or TrainingRun.objects.first()
    response = render(request, "training/_progress.html", _progress_context(run, True))
    if run is not None and not run.is_active and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@admin_required
def start_training(request: SignedInRequest) -> HttpResponse:
    mode = request.POST.get("mode", "")
    if mode and mode not in runs.TRAIN_MODES:
        messages.error(request, _("Unknown training mode."))
        return redirect("training:models")
    try:
        run = runs.trigger_training(request.user, mode or None)
    except errors.TrainingInFlight as exc:
        messages.error(request, str(exc))
    except errors.BrokerUnavailable as exc:
        messages.error(
            request,
            _("The training could not be queued (%(error)s). Start the broker and try again.")
            % {"error": exc},
        )
    else:
        messages.success(request, _("Training run %(id)s queued.") % {"id": run.pk})
    return redirect("training:models")


@require_POST
@admin_required
def remeasure_versions(request: SignedInRequest) -> HttpResponse:
    """Measure the versions shown (those not measured yet on the current
    evaluation set) on it, in a worker."""
    ids = [int(v) for v in request.POST.getlist("version") if v.isdigit()]
    if not ids:
        messages.error(request, _("No version to measure."))
        return redirect("training:models")
    comparison.queue_remeasure(ids)
    messages.success(
        request,
        _(
            "Measuring %(versions)s on the current evaluation set; reload the page in a "
            "moment to compare."
        )
        % {"versions": ", ".join(f"v{i}" for i in ids)},
    )
    return redirect("training:models")


@require_POST
@admin_required
def cancel_training(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun, pk=run_id)
    if not run.is_active:
        messages.error(request, _("Training run %(id)s has already finished.") % {"id": run.pk})
    else:
        runs.cancel_training(run, request.user)
        messages.success(request, _("Cancelling training run %(id)s.") % {"id": run.pk})
    return redirect("training:models")


def _change_version(
    request: SignedInRequest, version_id: int, action: Callable[..., ModelVersion], done: str
) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=version_id)
    try:
        action(version, request.user)
    except errors.PromotionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done % {"id": version.pk})
    return redirect("training:models")


@require_POST
@admin_required
def promote_version(request: SignedInRequest, version_id: int) -> HttpResponse:
    return _change_version(
        request,
        version_id,
        versions.promote,
        _("Model v%(id)s is now active; the catalogue is being re-scored."),
    )


@require_POST
@admin_required
def rollback_version(request: SignedInRequest, version_id: int) -> HttpResponse:
    return _change_version(
        request,
        version_id,
        versions.rollback,
        _("Rolled back to model v%(id)s; the catalogue is being re-scored."),
    )

"""The review page: one product at a time, keyboard first.

GET claims the next product (the reviewer's own live lease comes back on a
reload); submit, skip and undo post here and answer with the next product's
panel. htmx requests get the panel fragment plus an out-of-band status line;
plain form posts are redirected back to the page (post/redirect/get)."""

import hashlib
import json
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from annotation.models import Product, QueueEntry, ReviewEvent, Tag, TagGroup
from annotation.services import queue
from annotation.services import review as review_service
from annotation.templatetags.highlight import highlight_text
from annotation.templatetags.labels import reason_label
from annotation.views.access import reviewer_required
from annotation.views.forms import ProductActionForm, ReviewSubmitForm
from training.models import ModelVersion
from training.services.datasets import model_text
from training.services.versions import active_version

# Tags numbered for the 1-9 shortcuts.
NUMBER_KEYS = 9
# Unproposed, undecided tags shown per facet (best scores first), and the
# lowest score worth showing; the rest are reachable through the search.
RUNNERS_UP_PER_FACET = 2
RUNNER_UP_MIN_SCORE = 0.15
# Descriptions longer than this start folded.
LONG_DESCRIPTION = 600


@dataclass
class TagRow:
    tag_id: int
    label: str
    key: str
    score: float | None
    threshold: float | None
    checked: bool
    suggested: bool
    state: str | None
    number: int | None


@dataclass
class FacetBlock:
    name: str
    label: str
    single_valued: bool
    tags: list[TagRow] = field(default_factory=list)


def _facet_label(view: review_service.TagView, zh: bool) -> str:
    if zh and view.facet_label_zh:
        return view.facet_label_zh
    return view.facet_label


def _shown(items: list[review_service.TagView]) -> tuple[list[review_service.TagView], int]:
    """The tags of one facet the page puts in front of the reviewer: every one
    the model proposes or a person decided, plus the best few runners-up. The
    long tail of low scores stays off the page (the search finds any tag), so
    it is neither cluttering the form nor rejected unseen."""
    shown, runners_up, hidden = [], 0, 0
    for view in items:  # highest score first
        if view.suggested or view.state is not None:
            shown.append(view)
        elif (
            runners_up < RUNNERS_UP_PER_FACET
            and view.score is not None
            and view.score >= RUNNER_UP_MIN_SCORE
        ):
            shown.append(view)
            runners_up += 1
        else:
            hidden += 1
    return shown, hidden


def _blocks(
    views: list[review_service.TagView], version: ModelVersion | None, zh: bool
) -> tuple[list[FacetBlock], list[review_service.TagView], int]:
    """Facet blocks of the shown tags (numbered 1-9 in page order), the shown
    views, and how many candidates were left off."""
    thresholds = version.thresholds if version is not None else {}
    blocks: list[FacetBlock] = []
    shown_views: list[review_service.TagView] = []
    hidden_total = 0
    number = 0
    for facet, items in review_service.group_by_facet(views):
        shown, hidden = _shown(items)
        hidden_total += hidden
        if not shown:
            continue
        shown_views += shown
        block = FacetBlock(
            name=facet,
            label=_facet_label(items[0], zh),
            single_valued=items[0].single_valued,
        )
        for view in shown:
            number += 1
            threshold = thresholds.get(view.key)
            block.tags.append(
                TagRow(
                    tag_id=view.tag_id,
                    label=(view.label_zh or view.label) if zh else view.label,
                    key=view.key,
                    score=view.score,
                    threshold=float(threshold) if threshold is not None else None,
                    checked=view.selected,
                    suggested=view.suggested,
                    state=view.state,
                    number=number if number <= NUMBER_KEYS else None,
                )
            )
        blocks.append(block)
    return blocks, shown_views, hidden_total


def _text_parts(product: Product, views: list[review_service.TagView]) -> dict:
    """Title and description with the evidence spans marked. Spans index into the
    text the model read (cleaned title, a space, cleaned description); when the
    stored title is not its prefix, the whole text is shown as one block."""
    text = model_text(product)
    spans = [(s, e, v.tag_id) for v in views for s, e in v.evidence]
    title = product.title
    if text.startswith(title):
        rest_start = len(title) + 1
        description = highlight_text(text, spans, rest_start) if len(text) > rest_start else ""
        return {
            "title_html": highlight_text(text, spans, 0, len(title)),
            "description_html": description,
            "description_length": max(len(text) - rest_start, 0),
            "text_is_model_text": False,
        }
    return {
        "title_html": highlight_text(title, []),
        "description_html": highlight_text(text, spans),
        "description_length": len(text),
        "text_is_model_text": True,
    }


def _panel_context(request: HttpRequest, entry: QueueEntry | None) -> dict:
    if entry is None:
        user = request.user
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        mine_today = (
            ReviewEvent.objects.filter(
                user=user, created_at__gte=today, action__in=queue.REVIEW_ACTIONS
            )
            .values("submission")
            .distinct()
            .count()
        )
        return {"product": None, "stats": queue.queue_stats(), "mine_today": mine_today}
    product = entry.product
    version = active_version()
    zh = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("zh")
    blocks, shown, hidden = _blocks(review_service.review_state(product, version), version, zh)
    parts = _text_parts(product, shown)
    return {
        "product": product,
        "entry": entry,
        "reason_label": reason_label(entry.reason),
        "version": version,
        "blocks": blocks,
        "hidden_candidates": hidden,
        **parts,
        "long_description": parts["description_length"] > LONG_DESCRIPTION,
    }


def _render_panel(
    request: HttpRequest, entry: QueueEntry | None, status: str = "", error: str = ""
) -> HttpResponse:
    context = _panel_context(request, entry)
    context.update(status=status, error=error, oob=True)
    return render(request, "annotation/_review_panel.html", context)


def _next(request: HttpRequest, status: str = "", error: str = "") -> HttpResponse:
    """Answer a review action: the next product's panel for htmx, else a redirect."""
    if request.htmx:
        return _render_panel(request, queue.claim_next(request.user), status, error)
    if error:
        messages.error(request, error)
    elif status:
        messages.success(request, status)
    return redirect("annotation:review")


@reviewer_required
@require_GET
def review_page(request: HttpRequest) -> HttpResponse:
    context = _panel_context(request, queue.claim_next(request.user))
    return render(request, "annotation/review.html", context)


@reviewer_required
@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    form = ReviewSubmitForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("The review form was incomplete; reload the page."))
    product = get_object_or_404(Product, pk=form.cleaned_data["product"])
    decisions = [review_service.Decision(t, approved) for t, approved in form.decisions()]
    try:
        result = review_service.submit_review(request.user, product, decisions)
    except ValueError as exc:
        # The product stays leased to the reviewer: show it again with the reason.
        return _next(request, error=_("Not saved: %(reason)s") % {"reason": exc})
    approved = sum(1 for e in result.events if e.new_state == "approved")
    status = ngettext(
        "Saved %(title)s with %(count)d tag. Press u to undo.",
        "Saved %(title)s with %(count)d tags. Press u to undo.",
        approved,
    ) % {"title": product.title[:80], "count": approved}
    return _next(request, status=status)


@reviewer_required
@require_POST
def skip(request: HttpRequest) -> HttpResponse:
    form = ProductActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Which product to skip is missing."))
    product = get_object_or_404(Product, pk=form.cleaned_data["product"])
    queue.skip(request.user, product)
    return _next(request, status=_("Skipped %(title)s.") % {"title": product.title[:80]})


@reviewer_required
@require_POST
def undo(request: HttpRequest) -> HttpResponse:
    # The product the reviewer was looking at goes back to the queue, so the
    # undone one (leased to them again by the service) is what they see next.
    form = ProductActionForm(request.POST)
    result = review_service.undo_last_submission(request.user)
    if result is None:
        return _next(request, error=_("Nothing to undo."))
    if form.is_valid() and form.cleaned_data["product"] != result.product.pk:
        current = QueueEntry.objects.filter(product_id=form.cleaned_data["product"]).first()
        if current is not None:
            queue.release(current, request.user)
    return _next(
        request, status=_("Undid the review of %(title)s.") % {"title": result.product.title[:80]}
    )


def _tag_index() -> tuple[str, bytes]:
    tags = Tag.objects.filter(status=Tag.Status.ACTIVE)
    groups = list(
        TagGroup.objects.order_by("position", "name").values_list(
            "id", "name", "display_name_en", "display_name_zh", "multi_valued"
        )
    )
    rows = list(
        tags.order_by("group__position", "group__name", "name").values_list(
            "id", "group_id", "name", "display_name_en", "display_name_zh", "aliases"
        )
    )
    payload = {
        "groups": [list(g) for g in groups],
        "tags": [[*row[:5], [a for a in (row[5] or []) if isinstance(a, str)]] for row in rows],
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(body).hexdigest()[:20], body


@reviewer_required
@require_GET
def tag_index(request: HttpRequest) -> HttpResponse:
    """Every active tag, once, for the client-side autocomplete: [id, facet id,
    name, English name, Chinese name, aliases]. Cached by the browser for a
    few minutes and revalidated by ETag, so thousands of tags cost one fetch."""
    etag, body = _tag_index()
    quoted = f'"{etag}"'
    if request.headers.get("If-None-Match") == quoted:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = quoted
    response["Cache-Control"] = "private, max-age=300"
    return response

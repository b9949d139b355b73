"""The review page: one product at a time, keyboard first.

GET claims the next product (the reviewer's own live lease comes back on a
reload); submit, skip and undo post here and answer with the next product's
panel. htmx requests get the panel fragment plus an out-of-band status line;
plain form posts are redirected back to the page (post/redirect/get). A submit
the leases refuse answers 409 with the next panel and the reason; a submit that
decides nothing (no tag shown, none checked) needs the "No tags apply" button."""

import hashlib
import json
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import LeaseConflict, ReviewError
from annotation.inputs import parse_uuid
from annotation.models import Product, QueueEntry, ReviewEvent, Tag, TagGroup
from annotation.services import active_model, queue
from annotation.services import review as review_service
from annotation.services.review.layout import pretick_precision, review_layout
from annotation.services.taxonomy import categories, snapshot
from annotation.templatetags.highlight import highlight_text
from annotation.templatetags.labels import localized_label, reason_label
from annotation.views.access import SignedInRequest, reviewer_required
from annotation.views.forms import ProductActionForm, ReviewSubmitForm

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
    number: str | None  # its shortcut key: 1-9, then letters (review_policy.ALL_KEYS)
    reason: str | None  # why it is pre-ticked (review_policy.Reason), None when not
    html: str = ""  # the row's markup (_row_html), set once the row is final


@dataclass
class AddedRow:
    """A tag the reviewer added through the search, restored after an undo."""

    tag_id: int
    label: str
    facet: str
    single_valued: bool


# The session key of the decisions an undo hands back to the page.
DRAFT_KEY = "review_draft"


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


def _blocks(
    text: str,
    views: list[review_service.TagView],
    version: active_model.ModelVersion | None,
    zh: bool,
    taxonomy: snapshot.Taxonomy,
) -> tuple[list[FacetBlock], list[review_service.TagView], int]:
    """Facet blocks of the shown tags (review_layout decides what is shown, ticked
    and keyed; the long tail of low scores stays off the page, reachable through
    the search, so it is neither cluttering the form nor rejected unseen), the
    shown views, and how many candidates were left off."""
    shown, hidden = review_layout(text, views, version, taxonomy=taxonomy)
    blocks: list[FacetBlock] = []
    for item in shown:
        view = item.view
        if not blocks or blocks[-1].name != view.facet:
            blocks.append(
                FacetBlock(
                    name=view.facet,
                    label=_facet_label(view, zh),
                    single_valued=view.single_valued,
                )
            )
        blocks[-1].tags.append(
            TagRow(
                tag_id=view.tag_id,
                label=(view.label_zh or view.label) if zh else view.label,
                key=view.key,
                score=view.score,
                threshold=item.threshold,
                checked=item.ticked,
                suggested=view.suggested,
                state=view.state,
                number=item.key,
                reason=item.reason.value if item.reason is not None else None,
            )
        )
    return blocks, [item.view for item in shown], hidden


@dataclass(frozen=True)
class RowTexts:
    """The words every tag row may carry, translated once per page."""

    above_bar_title: str
    above_bar: str
    named_title: str
    named: str
    unsure_title: str
    unsure: str
    approved: str
    rejected: str
    added: str

    @classmethod
    def translated(cls, percent: int) -> "RowTexts":
        return cls(
            above_bar_title=_(
                "Ticked because the model is sure enough: the tags it ticks are expected "
                "to be right at least %(percent)s%% of the time."
            )
            % {"percent": percent},
            above_bar=_("model is sure"),
            named_title=_("Ticked because its name is written in the text."),
            named=_("named in the text"),
            unsure_title=_("Proposed, but not sure enough to tick: check it if it applies."),
            unsure=_("unsure"),
            approved=_("approved"),
            rejected=_("rejected"),
            added=_("added"),
        )


def _row_html(row: TagRow, block: FacetBlock, texts: RowTexts) -> SafeString:
    """One tag row of the form. Built here rather than in the template: a page has
    about thirty rows, and the template engine spent a quarter of a millisecond
    on each (most of the page's rendering time)."""
    tag_id = row.tag_id
    attributes = format_html(
        ' data-facet="{}"{}{}{}',
        block.name,
        mark_safe(" data-single") if block.single_valued else "",
        format_html(' data-key="{}" aria-keyshortcuts="{}"', row.number, row.number)
        if row.number
        else "",
        mark_safe(" checked") if row.checked else "",
    )
    key = (
        format_html('<kbd class="key" aria-hidden="true">{}</kbd>', row.number)
        if row.number
        else ""
    )
    badge: SafeString | str = ""
    if row.state == "approved":
        badge = format_html(' <span class="badge ok">{}</span>', texts.approved)
    elif row.state == "rejected":
        badge = format_html(' <span class="badge bad">{}</span>', texts.rejected)
    why: SafeString | str = ""
    if row.reason == "above_bar":
        why = format_html(
            ' <span class="why-ticked" title="{}">{}</span>', texts.above_bar_title, texts.above_bar
        )
    elif row.reason == "named":
        why = format_html(
            ' <span class="why-ticked" title="{}">{}</span>', texts.named_title, texts.named
        )
    elif row.suggested and not row.checked and row.state is None:
        why = format_html(
            ' <span class="why-unticked muted" title="{}">{}</span>',
            texts.unsure_title,
            texts.unsure,
        )
    if row.score is not None:
        shown = floatformat(row.score, 2)
        low = format_html(' low="{}"', f"{row.threshold:.3f}") if row.threshold is not None else ""
        score = format_html(
            '<meter class="score" min="0" max="1" optimum="1" value="{}"{} '
            'aria-labelledby="tag-label-{}">{}</meter>\n'
            '            <span class="score-value">{}</span>',
            f"{row.score:.3f}",
            low,
            tag_id,
            shown,
            shown,
        )
    else:
        score = format_html('<span class="score-value muted">{}</span>', texts.added)
    return format_html(
        '<li class="tag-row{}" data-tag-row="{}">\n'
        '            <input type="hidden" name="shown" value="{}">\n'
        '            <input type="checkbox" name="tag" value="{}" id="tag-{}"{}>\n'
        '            <label for="tag-{}">{}<span class="tag-label" id="tag-label-{}">{}</span>'
        "{}{}</label>\n"
        "            {}\n"
        "          </li>",
        mark_safe(" is-suggested") if row.suggested else "",
        tag_id,
        tag_id,
        tag_id,
        tag_id,
        attributes,
        tag_id,
        key,
        tag_id,
        row.label,
        badge,
        why,
        score,
    )


def _history_rows(
    request: HttpRequest, history: list[review_service.HistoryItem], product: Product | None
) -> list[SafeString]:
    """The history sidebar's rows (its last submissions, each with a Reopen form),
    built here for the same reason as the tag rows."""
    undo_url = reverse("annotation:review_undo")
    token = get_token(request)
    reopened, reopen = _("reopened"), _("Reopen")
    current = (
        format_html('<input type="hidden" name="product" value="{}">', product.pk)
        if product is not None
        else ""
    )
    rows = []
    for item in history:
        if item.undone:
            action = format_html('<span class="badge">{}</span>', reopened)
        else:
            action = format_html(
                '<form method="post" action="{}" hx-post="{}" hx-target="#review-panel" '
                'hx-swap="outerHTML" hx-sync="#review-panel:drop" class="inline" data-reopen>\n'
                '          <input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<input type="hidden" name="submission" value="{}">{}\n'
                '          <button type="submit" class="small">{}</button>\n'
                "        </form>",
                undo_url,
                undo_url,
                token,
                item.submission,
                current,
                reopen,
            )
        tags = ngettext("%(counter)s tag", "%(counter)s tags", item.approved) % {
            "counter": item.approved
        }
        rows.append(
            format_html(
                '<li>\n        <span class="history-title">{}</span>\n'
                '        <span class="muted small">{} · {}</span>\n'
                "        {}\n      </li>",
                Truncator(item.title).chars(60),
                tags,
                time_format(timezone.localtime(item.created_at), "H:i"),
                action,
            )
        )
    return rows


def _text_parts(product: Product, views: list[review_service.TagView]) -> dict:
    """Title and description with the evidence spans marked. Spans index into the
    text the model read (cleaned title, a space, cleaned description); when the
    stored title is not its prefix, the whole text is shown as one block."""
    text = product.model_text
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


def _panel_context(request: SignedInRequest, entry: QueueEntry | None) -> dict:
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
    # Until the active version has scored this product, the previous one's
    # suggestions stay (with a banner): they never vanish during a re-score.
    source = active_model.suggestion_version_for(product)
    version = source.version
    zh = (getattr(request, "LANGUAGE_CODE", "") or "").startswith("zh")
    taxonomy = snapshot.current()
    views = review_service.review_state(product, version, taxonomy)
    blocks, shown, hidden = _blocks(product.model_text, views, version, zh, taxonomy)
    restored = _restore_draft(request, product, blocks, zh)
    history = review_service.recent_submissions(request.user)
    percent = round(100 * pretick_precision())
    texts = RowTexts.translated(percent)
    for block in blocks:
        for row in block.tags:
            row.html = _row_html(row, block, texts)
    parts = _text_parts(product, shown)
    return {
        "category_line": _category_line(views, version, zh, taxonomy),
        "restored": restored is not None,
        "restored_added": restored or [],
        "history": history,
        "history_rows": _history_rows(request, history, product),
        "product": product,
        "entry": entry,
        "reason_label": reason_label(entry.reason),
        "version": version,
        "rescoring": source.rescoring,
        "pretick_percent": percent,
        "active_version": source.active,
        "blocks": blocks,
        "hidden_candidates": hidden,
        **parts,
        "long_description": parts["description_length"] > LONG_DESCRIPTION,
    }


def _category_line(
    views: list[review_service.TagView],
    version: active_model.ModelVersion | None,
    zh: bool,
    taxonomy: snapshot.Taxonomy,
) -> dict[str, str] | None:
    """The product's category and the facets that apply within it (category-aware
    proposals: the others were masked when the product was scored)."""
    found = categories.facets_that_apply(
        views, version.category_schema if version else None, taxonomy
    )
    if found is None:
        return None
    language = "zh" if zh else "en"
    return {
        "category": localized_label(found.category, language),
        "facets": ("、" if zh else ", ").join(localized_label(f, language) for f in found.facets),
    }


def _restore_draft(
    request: SignedInRequest, product: Product, blocks: list[FacetBlock], zh: bool
) -> list[AddedRow] | None:
    """After an undo, the reviewer's own decisions of the undone submission
    instead of the model's pre-ticks (None when there is no draft for this
    product); returns the tags they had added that the page does not list."""
    draft = request.session.get(DRAFT_KEY)
    if not isinstance(draft, dict) or draft.get("product") != product.pk:
        return None
    del request.session[DRAFT_KEY]
    decisions = {int(k): bool(v) for k, v in draft.get("decisions", {}).items()}
    listed = set()
    for block in blocks:
        for row in block.tags:
            row.checked = decisions.get(row.tag_id, False)
            row.reason = None
            listed.add(row.tag_id)
    extra = [tag_id for tag_id, approved in decisions.items() if approved and tag_id not in listed]
    tags = Tag.objects.select_related("group").filter(pk__in=extra).order_by("group__position")
    return [
        AddedRow(
            tag_id=tag.pk,
            label=(tag.display_name_zh or tag.label) if zh else tag.label,
            facet=tag.group.name,
            single_valued=not tag.group.multi_valued,
        )
        for tag in tags
    ]


def _render_panel(
    request: SignedInRequest, entry: QueueEntry | None, status: str = "", error: str = ""
) -> HttpResponse:
    context = _panel_context(request, entry)
    context.update(status=status, error=error, oob=True)
    return render(request, "annotation/_review_panel.html", context)


def _next(request: SignedInRequest, status: str = "", error: str = "") -> HttpResponse:
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
def review_page(request: SignedInRequest) -> HttpResponse:
    context = _panel_context(request, queue.claim_next(request.user))
    return render(request, "annotation/review.html", context)


def _bad_request(message: str) -> HttpResponse:
    """400 with a message the review page shows as it is (plain text, not a page)."""
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _gone() -> str:
    """Why an action on a product that no longer exists (deleted while on the
    reviewer's screen) changed nothing; the answer shows their next product."""
    return _("That product no longer exists (it was deleted), so nothing was done with it.")


def _refused(request: SignedInRequest, product: Product, conflict: LeaseConflict) -> HttpResponse:
    """409 for a submit that leases do not allow; the reviewer gets their next
    product (their own lease first) with the reason, and nothing was saved."""
    title = product.title[:80]
    if conflict.holder is not None:
        error = _("Not saved: %(title)s is being reviewed by someone else.") % {"title": title}
    else:
        error = _(
            "Not saved: %(title)s has had the reviews it needs since your hold on it ran out."
        ) % {"title": title}
    entry = queue.claim_next(request.user)
    if request.htmx:
        response = _render_panel(request, entry, error=error)
    else:
        messages.error(request, error)
        response = render(request, "annotation/review.html", _panel_context(request, entry))
    response.status_code = 409
    return response


def _undecided(form: ReviewSubmitForm, product: Product) -> str:
    """Why a submit decides nothing, or contradicts itself ("" when it is fine)."""
    title = product.title[:80]
    if form.cleaned_data["none_apply"] and form.cleaned_data["tag"]:
        return _(
            "Not saved: %(title)s has tags checked and “No tags apply” chosen; "
            "uncheck the tags or submit them."
        ) % {"title": title}
    if not form.decisions() and not form.cleaned_data["none_apply"]:
        return _(
            "Nothing decided for %(title)s: check the tags that apply, or choose "
            "“No tags apply” (key 0)."
        ) % {"title": title}
    return ""


@reviewer_required
@require_POST
def submit(request: SignedInRequest) -> HttpResponse:
    form = ReviewSubmitForm(request.POST)
    if not form.is_valid():
        return _bad_request(_("The review form was incomplete; reload the page."))
    product = Product.objects.filter(pk=form.cleaned_data["product"]).first()
    if product is None:
        return _next(request, error=_gone())
    problem = _undecided(form, product)
    if problem:
        return _next(request, error=problem)
    decisions = [review_service.Decision(t, approved) for t, approved in form.decisions()]
    try:
        result = review_service.submit_review(
            request.user, product, decisions, none_apply=form.cleaned_data["none_apply"]
        )
    except LeaseConflict as exc:
        return _refused(request, product, exc)
    except ReviewError as exc:
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
def skip(request: SignedInRequest) -> HttpResponse:
    form = ProductActionForm(request.POST)
    if not form.is_valid():
        return _bad_request(_("Which product to skip is missing."))
    product = Product.objects.filter(pk=form.cleaned_data["product"]).first()
    if product is None:
        return _next(request, error=_gone())
    queue.skip(request.user, product)
    return _next(request, status=_("Skipped %(title)s.") % {"title": product.title[:80]})


@reviewer_required
@require_POST
def undo(request: SignedInRequest) -> HttpResponse:
    # The product the reviewer was looking at goes back to the queue, so the
    # undone one (leased to them again by the service) is what they see next.
    form = ProductActionForm(request.POST)
    raw = request.POST.get("submission", "")
    submission = parse_uuid(raw)
    if raw and submission is None:
        return _next(request, error=_("Nothing to undo."))
    if submission is not None:
        result = review_service.undo_submission(request.user, submission)
    else:
        result = review_service.undo_last_submission(request.user)
    if result is None:
        return _next(request, error=_("Nothing to undo."))
    own = review_service.submitted_decisions(result.submission)
    if own is not None:
        # The reopened product shows the reviewer's own decisions, not the model's.
        request.session[DRAFT_KEY] = {
            "product": own[0],
            "decisions": {str(k): v for k, v in own[1].items()},
        }
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

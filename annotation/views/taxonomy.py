"""Taxonomy pages for admins: browse facets and tags, add, rename, merge,
deprecate and edit aliases. Rename, merge and deprecate change what reviewers,
the model and the export see, so each asks for confirmation first and says
how many products it touches."""

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from annotation.errors import TaxonomyError
from annotation.models import ProductTag, Tag, TagGroup
from annotation.services import active_model
from annotation.services import taxonomy as taxonomy_service
from annotation.services.taxonomy import categories
from annotation.services.taxonomy.alias_reviews import alias_reviews
from annotation.templatetags.labels import localized_label
from annotation.views.access import SignedInRequest, admin_required
from annotation.views.forms import (
    AliasesForm,
    CategoryFacetForm,
    CategoryRuleForm,
    DeprecateTagForm,
    DisplayNamesForm,
    MergeTagForm,
    RenameTagForm,
    TagCreateForm,
    TagGroupCreateForm,
    UnmergeTagForm,
)

STATUS_FILTERS = ("active", "deprecated", "all")


def _positives() -> Count:
    return Count("product_tags", filter=Q(product_tags__state=ProductTag.State.APPROVED))


@admin_required
@require_GET
def taxonomy_page(request: HttpRequest) -> HttpResponse:
    return _taxonomy_page(request)


def _taxonomy_page(
    request: HttpRequest,
    *,
    tag_form: TagCreateForm | None = None,
    facet_form: TagGroupCreateForm | None = None,
) -> HttpResponse:
    """The taxonomy page; after a refused "Add a tag" or "Add a facet", with
    that form as posted (open, what was typed kept, each error by its field)."""
    for form in (tag_form, facet_form):
        if form is not None:
            _focus_first_error(form)
    q = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "active")
    if status not in STATUS_FILTERS:
        status = "active"
    tags = Tag.objects.annotate(positives=_positives()).order_by("name")
    if status != "all":
        tags = tags.filter(status=status)
    if q:
        # Aliases live in a JSON list; matching its text form finds them on
        # SQLite and PostgreSQL alike.
        tags = tags.filter(
            Q(name__icontains=q)
            | Q(display_name_en__icontains=q)
            | Q(display_name_zh__icontains=q)
            | Q(aliases__icontains=q)
        )
    groups = (
        TagGroup.objects.annotate(
            tag_count=Count("tags", filter=Q(tags__status=Tag.Status.ACTIVE), distinct=True)
        )
        .prefetch_related(Prefetch("tags", queryset=tags, to_attr="shown_tags"))
        .order_by("position", "name")
    )
    context = {
        "groups": groups,
        "q": q,
        "status": status,
        "tag_form": tag_form or TagCreateForm(prefix="tag"),
        "facet_form": facet_form or TagGroupCreateForm(prefix="facet"),
        "category_facet": categories.category_facet(),
    }
    return render(request, "annotation/taxonomy.html", context)


@admin_required
@require_POST
def mark_category_facet(request: HttpRequest, facet_id: int) -> HttpResponse:
    group = get_object_or_404(TagGroup, pk=facet_id)
    form = CategoryFacetForm(request.POST)
    form.is_valid()
    marked = bool(form.cleaned_data.get("marked"))
    categories.mark_category_facet(group, marked)
    if marked:
        messages.success(
            request,
            _("%(facet)s now names the product's category.") % {"facet": localized_label(group)},
        )
    else:
        messages.success(
            request,
            _("%(facet)s no longer names the product's category.")
            % {"facet": localized_label(group)},
        )
    return redirect("annotation:taxonomy")


@admin_required
@require_POST
def add_facet(request: HttpRequest) -> HttpResponse:
    form = TagGroupCreateForm(request.POST, prefix="facet")
    if not form.is_valid():
        return _taxonomy_page(request, facet_form=form)
    group = form.save()
    messages.success(request, _("Facet %(name)s added.") % {"name": group.name})
    return redirect("annotation:taxonomy")


@admin_required
@require_POST
def add_tag(request: HttpRequest) -> HttpResponse:
    form = TagCreateForm(request.POST, prefix="tag")
    if not form.is_valid():
        return _taxonomy_page(request, tag_form=form)
    tag = form.save()
    messages.success(request, _("Tag %(key)s added.") % {"key": tag.key})
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


def _focus_first_error(form: BaseForm) -> None:
    """Put the focus on the first field the form refused, so a page that
    comes back with an error below the fold shows it (and a screen reader
    reads it)."""
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs["autofocus"] = True
            return


def _form_errors(request: HttpRequest, form: BaseForm) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _tag(tag_id: int) -> Tag:
    return get_object_or_404(Tag.objects.select_related("group", "merged_into__group"), pk=tag_id)


def _detail_context(tag: Tag, **forms: BaseForm | None) -> dict:
    for form in forms.values():
        if form is not None:
            _focus_first_error(form)
    counts = ProductTag.objects.filter(tag=tag).aggregate(
        approved=Count("pk", filter=Q(state=ProductTag.State.APPROVED)),
        rejected=Count("pk", filter=Q(state=ProductTag.State.REJECTED)),
    )
    return {
        "tag": tag,
        "counts": counts,
        "affected": taxonomy_service.affected_products(tag),
        "merged_from": tag.merged_from.select_related("group").order_by("name"),
        "rename_form": forms.get("rename_form")
        or RenameTagForm(tag=tag, initial={"name": tag.name}),
        "merge_form": forms.get("merge_form") or MergeTagForm(source=tag),
        "merge_record": taxonomy_service.last_merge(tag) if tag.merged_into_id else None,
        "aliases_form": forms.get("aliases_form")
        or AliasesForm(initial={"aliases": "\n".join(tag.aliases or [])}),
        "names_form": forms.get("names_form")
        or DisplayNamesForm(
            initial={"display_name_en": tag.display_name_en, "display_name_zh": tag.display_name_zh}
        ),
        "deprecate_form": DeprecateTagForm(),
        **_alias_context(tag),
        **_category_context(tag),
    }


def _alias_context(tag: Tag) -> dict:
    reviews = alias_reviews(tag)
    return {"alias_reviews": reviews, "alias_misleads": any(r.misleads for r in reviews)}


def _category_context(tag: Tag) -> dict:
    """For a tag of the category facet: the facets that apply within it (learned
    by the active version, and the admins' overrides)."""
    facet = categories.category_facet()
    if facet is None or tag.group_id != facet.pk:
        return {"category_rules": None}
    version = active_model.active_version()
    learned = version.category_schema if version is not None else {}
    support = (learned.get("support") or {}).get(tag.key) if learned else None
    return {
        "category_rules": categories.category_rules(tag, learned),
        "category_version": version,
        "category_support": support,
    }


@admin_required
@require_GET
def tag_detail(request: HttpRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    return render(request, "annotation/taxonomy_tag.html", _detail_context(tag))


def _confirm(
    request: HttpRequest,
    tag: Tag,
    action: str,
    summary: str,
    fields: dict[str, str],
    details: list[str] | None = None,
) -> HttpResponse:
    """The confirmation step: what will happen, to how many products (and, for
    a merge or an unmerge, what moves), and the same fields posted again with
    confirm=1."""
    context = {
        "tag": tag,
        "action_url": reverse(f"annotation:taxonomy_{action}", args=[tag.pk]),
        "summary": summary,
        "details": details or [],
        "affected": taxonomy_service.affected_products(tag),
        "fields": fields,
        "danger": action in ("merge", "deprecate", "unmerge"),
    }
    return render(request, "annotation/taxonomy_confirm.html", context)


@admin_required
@require_POST
def rename(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = RenameTagForm(request.POST, tag=tag)
    if not form.is_valid():
        return _refused_rename(request, tag, form)
    name = form.cleaned_data["name"]
    if not form.cleaned_data["confirm"]:
        summary = _(
            "Rename %(old)s to %(new)s. The old name stays as an alias; exports use the new name."
        ) % {
            "old": tag.key,
            "new": f"{tag.group.name}:{name}",
        }
        return _confirm(request, tag, "rename", summary, {"name": name})
    try:
        taxonomy_service.rename_tag(tag, name, user=request.user)
    except TaxonomyError as exc:
        # Someone took the name between the two steps: say so by the field.
        form.add_error("name", exc.localized())
        return _refused_rename(request, tag, form)
    messages.success(request, _("Renamed to %(key)s.") % {"key": f"{tag.group.name}:{name}"})
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


def _refused_rename(request: HttpRequest, tag: Tag, form: RenameTagForm) -> HttpResponse:
    """The tag's page with the refused rename; when the name is another tag's,
    the merge form already names that tag, one click from merging instead."""
    merge_form = None
    if form.clash is not None and form.clash.is_active:
        clash = form.clash
        merge_form = MergeTagForm(
            source=tag, initial={"into": f"{tag.group.name}:{clash.name}", "into_id": clash.pk}
        )
    return render(
        request,
        "annotation/taxonomy_tag.html",
        _detail_context(tag, rename_form=form, merge_form=merge_form),
    )


@admin_required
@require_POST
def merge(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = MergeTagForm(request.POST, source=tag)
    if not form.is_valid():
        return render(
            request, "annotation/taxonomy_tag.html", _detail_context(tag, merge_form=form)
        )
    into: Tag = form.cleaned_data["into"]
    if not form.cleaned_data["confirm"]:
        try:
            preview = taxonomy_service.merge_preview(tag, into)
        except TaxonomyError as exc:
            return _refused_merge(request, tag, form, exc)
        summary = _(
            "Merge %(source)s into %(target)s: its decisions and history move to "
            "%(target)s, and %(source)s is deprecated. The merge can be undone."
        ) % {"source": _facet_name(tag), "target": _facet_name(into)}
        fields = {"into": into.key, "into_id": str(into.pk)}
        return _confirm(request, tag, "merge", summary, fields, _merge_details(preview))
    try:
        taxonomy_service.merge_tags(tag, into, user=request.user)
    except TaxonomyError as exc:
        return _refused_merge(request, tag, form, exc)
    messages.success(
        request, _("Merged %(source)s into %(target)s.") % {"source": tag.key, "target": into.key}
    )
    return redirect("annotation:taxonomy_tag", tag_id=into.pk)


def _refused_merge(
    request: HttpRequest, tag: Tag, form: MergeTagForm, exc: TaxonomyError
) -> HttpResponse:
    form.add_error(None, exc.localized())
    return render(request, "annotation/taxonomy_tag.html", _detail_context(tag, merge_form=form))


def _facet_name(tag: Tag) -> str:
    """A tag as the merge picker shows it: facet: name."""
    return f"{tag.group.name}: {tag.name}"


def _merge_details(preview: taxonomy_service.MergePreview) -> list[str]:
    target = _facet_name(preview.into)
    details = [
        ngettext(
            "%(n)d decision moves to %(target)s.",
            "%(n)d decisions move to %(target)s.",
            preview.moved,
        )
        % {"n": preview.moved, "target": target},
        ngettext(
            "%(n)d product carries both tags: the more authoritative decision stays "
            "(%(replaced)d replaced).",
            "%(n)d products carry both tags: the more authoritative decision stays "
            "(%(replaced)d replaced).",
            preview.folded,
        )
        % {"n": preview.folded, "replaced": preview.replaced},
        ngettext("%(n)d history event moves.", "%(n)d history events move.", preview.events)
        % {"n": preview.events},
        ngettext("%(n)d suggestion moves.", "%(n)d suggestions move.", preview.suggestions)
        % {"n": preview.suggestions},
    ]
    if preview.aliases:
        details.append(
            _("%(target)s takes these names as aliases: %(names)s.")
            % {"target": target, "names": ", ".join(preview.aliases)}
        )
    return details


@admin_required
@require_POST
def unmerge(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = UnmergeTagForm(request.POST)
    form.is_valid()
    if tag.merged_into is None:
        messages.error(request, _("%(tag)s is not merged into another tag.") % {"tag": tag.key})
        return redirect("annotation:taxonomy_tag", tag_id=tag.pk)
    if not form.cleaned_data.get("confirm"):
        return _confirm(
            request,
            tag,
            "unmerge",
            _unmerge_summary(tag, tag.merged_into),
            {},
            _unmerge_details(tag),
        )
    try:
        result = taxonomy_service.unmerge_tag(tag, user=request.user)
    except TaxonomyError as exc:
        messages.error(request, exc.localized())
        return redirect("annotation:taxonomy_tag", tag_id=tag.pk)
    messages.success(
        request,
        _("Unmerged %(tag)s from %(target)s: %(n)s decisions are back on it.")
        % {
            "tag": tag.key,
            "target": result.into.key,
            "n": result.moved_back + result.recreated,
        },
    )
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


def _unmerge_summary(tag: Tag, into: Tag) -> str:
    return _(
        "Unmerge %(tag)s from %(target)s: %(tag)s becomes a tag of its own again, "
        "and what the merge moved goes back to it."
    ) % {"tag": _facet_name(tag), "target": _facet_name(into)}


def _unmerge_details(tag: Tag) -> list[str]:
    record = taxonomy_service.last_merge(tag)
    if record is None:
        return [
            _(
                "This merge was made before merges were recorded in full: the decisions "
                "it moved onto products without one go back; decisions it folded into "
                "existing ones, the history and the suggestions stay where they are."
            )
        ]
    moved = len(record.moved_decisions) + len(record.folded_decisions)
    return [
        ngettext(
            "%(n)d decision goes back to %(tag)s.", "%(n)d decisions go back to %(tag)s.", moved
        )
        % {"n": moved, "tag": _facet_name(tag)},
        ngettext(
            "%(n)d history event goes back.",
            "%(n)d history events go back.",
            len(record.moved_events),
        )
        % {"n": len(record.moved_events)},
        _("Decisions made on the merged tag since the merge stay as they are."),
    ]


@admin_required
@require_POST
def deprecate(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = DeprecateTagForm(request.POST)
    form.is_valid()
    if not form.cleaned_data.get("confirm"):
        summary = _(
            "Deprecate %(tag)s: reviewers and the model stop proposing it; "
            "decisions already made stay on record."
        ) % {"tag": tag.key}
        return _confirm(request, tag, "deprecate", summary, {})
    try:
        taxonomy_service.deprecate_tag(tag, user=request.user)
    except TaxonomyError as exc:
        messages.error(request, exc.localized())
    else:
        messages.success(request, _("%(tag)s is deprecated.") % {"tag": tag.key})
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


@admin_required
@require_POST
def aliases(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = AliasesForm(request.POST)
    if not form.is_valid():
        return render(
            request, "annotation/taxonomy_tag.html", _detail_context(tag, aliases_form=form)
        )
    try:
        taxonomy_service.set_aliases(tag, form.cleaned_data["aliases"], user=request.user)
    except TaxonomyError as exc:
        form.add_error("aliases", exc.localized())
        return render(
            request, "annotation/taxonomy_tag.html", _detail_context(tag, aliases_form=form)
        )
    messages.success(request, _("Aliases of %(tag)s saved.") % {"tag": localized_label(tag)})
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


@admin_required
@require_POST
def display_names(request: HttpRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = DisplayNamesForm(request.POST)
    if not form.is_valid():
        return render(
            request, "annotation/taxonomy_tag.html", _detail_context(tag, names_form=form)
        )
    tag.display_name_en = form.cleaned_data["display_name_en"].strip()
    tag.display_name_zh = form.cleaned_data["display_name_zh"].strip()
    tag.save(update_fields=["display_name_en", "display_name_zh", "updated_at"])
    messages.success(request, _("Display names of %(tag)s saved.") % {"tag": tag.key})
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)


@admin_required
@require_POST
def category_rule(request: SignedInRequest, tag_id: int) -> HttpResponse:
    tag = _tag(tag_id)
    form = CategoryRuleForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("annotation:taxonomy_tag", tag_id=tag.pk)
    facet: TagGroup = form.cleaned_data["facet"]
    try:
        categories.set_category_rule(tag, facet, form.allowed, user=request.user)
    except TaxonomyError as exc:
        messages.error(request, exc.localized())
    else:
        messages.success(
            request,
            _("Facets of %(category)s saved; the next scoring applies them.")
            % {"category": localized_label(tag)},
        )
    return redirect("annotation:taxonomy_tag", tag_id=tag.pk)

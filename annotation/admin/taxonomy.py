"""Facets and tags: renames, merges and deprecations go through the
taxonomy service, which keeps the history and marks products for the export."""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from annotation.errors import TaxonomyError
from annotation.models import Tag, TagGroup
from annotation.roles import signed_in
from annotation.services import taxonomy
from annotation.views.forms import FACET_NAME_HELP, clean_facet_name


class TagAdminForm(forms.ModelForm):
    """Checks names and aliases the way the taxonomy service does."""

    class Meta:
        model = Tag
        fields = ("group", "name", "display_name_en", "display_name_zh", "aliases", "description")

    def _probe(self) -> Tag:
        group = self.cleaned_data.get("group") or getattr(self.instance, "group", None)
        probe = Tag(pk=self.instance.pk, name=self.cleaned_data.get("name", ""))
        if group is not None:
            probe.group = group
        return probe

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        try:
            return taxonomy.check_name(self._probe(), name)
        except TaxonomyError as exc:
            raise forms.ValidationError(exc.localized()) from exc

    def clean_aliases(self) -> list[str]:
        aliases = self.cleaned_data.get("aliases") or []
        if not isinstance(aliases, list):
            raise forms.ValidationError(_('Aliases must be a JSON list, e.g. ["tee", "t shirt"].'))
        try:
            return taxonomy.check_aliases(self._probe(), aliases)
        except TaxonomyError as exc:
            raise forms.ValidationError(exc.localized()) from exc


def _save_with_rename(tag: Tag, form: forms.ModelForm, request: HttpRequest) -> None:
    """A changed name of an existing tag goes through rename_tag, which keeps
    the old name as an alias and marks the products for the export."""
    new_name = None
    if tag.pk and "name" in form.changed_data:
        new_name = tag.name
        tag.name = form.initial["name"]
    tag.save()
    if new_name is not None:
        english = tag.display_name_en if "display_name_en" in form.changed_data else None
        taxonomy.rename_tag(tag, new_name, user=signed_in(request.user), display_name_en=english)


class TagInline(admin.TabularInline):
    model = Tag
    form = TagAdminForm
    fk_name = "group"
    fields = ("name", "display_name_en", "display_name_zh", "aliases", "status", "merged_into")
    readonly_fields = ("status", "merged_into")
    extra = 0
    can_delete = False
    show_change_link = True


class TagGroupAdminForm(forms.ModelForm):
    """A new name follows the rule for facet names (a facet named before the
    rule keeps its name while its other fields are edited)."""

    class Meta:
        model = TagGroup
        fields = ("name", "display_name_en", "display_name_zh", "description")
        help_texts: ClassVar[dict[str, Any]] = {"name": FACET_NAME_HELP}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if self.instance.pk is not None and name == self.instance.name:
            return name
        return clean_facet_name(name, exclude=self.instance.pk)


@admin.register(TagGroup)
class TagGroupAdmin(admin.ModelAdmin):
    form = TagGroupAdminForm
    list_display = (
        "name",
        "display_name_en",
        "display_name_zh",
        "multi_valued",
        "position",
        "tag_count",
    )
    list_editable = ("multi_valued", "position")
    search_fields = ("name", "display_name_en", "display_name_zh")
    fields = (
        "name",
        "display_name_en",
        "display_name_zh",
        "description",
        "multi_valued",
        "position",
    )
    inlines = (TagInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TagGroup]:
        return super().get_queryset(request).annotate(n_tags=Count("tags"))

    @admin.display(description=_("Tags"), ordering="n_tags")
    def tag_count(self, obj: TagGroup) -> int:
        return obj.n_tags  # type: ignore[attr-defined]  # annotated by get_queryset

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A facet with tags is protected by the database; an empty one may go.
        return obj is None or not obj.tags.exists()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Tag:
            super().save_formset(request, form, formset, change)
            return
        with transaction.atomic():
            # save(commit=False) also records what changed for the admin log.
            changed = formset.save(commit=False)
            forms_by_tag = {id(tag_form.instance): tag_form for tag_form in formset.forms}
            for tag in changed:
                _save_with_rename(tag, forms_by_tag[id(tag)], request)
            formset.save_m2m()


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(queryset=Tag.objects.none(), label=_("Merge into"))

    def __init__(self, *args: Any, group_id: int, exclude: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        into = self.fields["into"]
        assert isinstance(into, forms.ModelChoiceField), "declared above"
        into.queryset = (
            Tag.objects.filter(group_id=group_id, status=Tag.Status.ACTIVE)
            .exclude(pk__in=exclude)
            .select_related("group")
        )


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ("name", "group", "status", "merged_into", "alias_list", "products")
    list_filter = ("status", "group")
    list_select_related = ("group", "merged_into__group")
    search_fields = ("name", "aliases", "display_name_en", "display_name_zh")
    readonly_fields = ("status", "merged_into", "created_at", "updated_at")
    actions = ("merge_selected", "deprecate_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(n_products=Count("product_tags"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Moving a tag to another facet would change what its decisions mean.
        return (*self.readonly_fields, "group") if obj is not None else self.readonly_fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # Deleting a tag would erase its decisions: merge or deprecate instead.
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("Aliases"))
    def alias_list(self, obj: Tag) -> str:
        return ", ".join(obj.aliases)

    @admin.display(description=_("Products"), ordering="n_products")
    def products(self, obj: Tag) -> int:
        return obj.n_products  # type: ignore[attr-defined]  # annotated by get_queryset

    def save_model(self, request: HttpRequest, obj: Tag, form: Any, change: bool) -> None:
        _save_with_rename(obj, form, request)

    @admin.action(description=_("Merge selected tags into…"), permissions=["change"])
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Tag]) -> HttpResponse | None:
        tags = list(queryset.select_related("group"))
        if len({t.group_id for t in tags}) != 1:
            self.message_user(
                request, _("Select tags of one facet: tags merge within a facet."), messages.ERROR
            )
            return None
        form = MergeForm(
            request.POST if "apply" in request.POST else None,
            group_id=tags[0].group_id,
            exclude=[t.pk for t in tags],
        )
        if form.is_bound and form.is_valid():
            into = form.cleaned_data["into"]
            try:
                with transaction.atomic():
                    results = [
                        taxonomy.merge_tags(t, into, user=signed_in(request.user)) for t in tags
                    ]
            except TaxonomyError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            self.message_user(
                request,
                ngettext(
                    "Merged %(n)d tag into %(into)s (%(moved)d decisions moved).",
                    "Merged %(n)d tags into %(into)s (%(moved)d decisions moved).",
                    len(tags),
                )
                % {"n": len(tags), "into": into.key, "moved": sum(r.moved for r in results)},
                messages.SUCCESS,
            )
            return None
        counts = [(t, taxonomy.affected_products(t)) for t in tags]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Merge tags"),
            "opts": self.model._meta,
            "form": form,
            "counts": counts,
            "total": sum(n for _, n in counts),
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/annotation/tag/merge_confirmation.html", context)

    @admin.action(description=_("Deprecate selected tags"), permissions=["change"])
    def deprecate_selected(self, request: HttpRequest, queryset: QuerySet[Tag]) -> None:
        done = 0
        for tag in queryset.filter(status=Tag.Status.ACTIVE):
            taxonomy.deprecate_tag(tag, user=signed_in(request.user))
            done += 1
        self.message_user(
            request,
            ngettext("Deprecated %(n)d tag.", "Deprecated %(n)d tags.", done) % {"n": done},
            messages.SUCCESS,
        )

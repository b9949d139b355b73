"""Forms of the browser UI: they validate what a page posts before a view
hands it to a service."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from annotation.models import Tag, TagGroup
from annotation.templatetags.labels import localized_label


class IntListField(forms.Field):
    """Every value of a repeated parameter (`?tag=1&tag=2`) as a list of ints."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            return [int(v) for v in values if str(v).strip()]
        except (TypeError, ValueError) as exc:
            raise ValidationError(_("Expected a list of numbers."), code="invalid") from exc

    def validate(self, value: list[int]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class TagField(forms.CharField):
    """A tag given by id or by its `facet:value` key (what people type)."""

    def __init__(self, *args: Any, active_only: bool = False, **kwargs: Any) -> None:
        self.active_only = active_only
        kwargs.setdefault("max_length", 402)
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Tag | None:  # type: ignore[override]
        text = super().clean(value)
        if not text:
            return None
        tags = Tag.objects.select_related("group")
        if text.isdigit():
            tag = tags.filter(pk=int(text)).first()
        else:
            facet, sep, name = text.partition(":")
            tag = tags.filter(group__name=facet.strip(), name=name.strip()).first() if sep else None
        if tag is None:
            raise ValidationError(
                _("No tag %(tag)s. Write it as facet:value, e.g. color:Red."),
                code="unknown",
                params={"tag": text},
            )
        if self.active_only and not tag.is_active:
            raise ValidationError(
                _("The tag %(tag)s is deprecated."), code="deprecated", params={"tag": tag.key}
            )
        return tag


# -- review ---------------------------------------------------------------------------


class ReviewSubmitForm(forms.Form):
    """The whole decision set of one product: every tag the page showed
    (`shown`), and the ones left checked or added (`tag`)."""

    product = forms.IntegerField(min_value=1)
    shown = IntListField(required=False)
    tag = IntListField(required=False)

    def decisions(self) -> list[tuple[int, bool]]:
        checked = set(self.cleaned_data["tag"])
        shown = set(self.cleaned_data["shown"])
        return [(tag_id, tag_id in checked) for tag_id in sorted(shown | checked)]


class ProductActionForm(forms.Form):
    product = forms.IntegerField(min_value=1)


# -- products (bulk review) -------------------------------------------------------------


class FacetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return localized_label(obj)


class ProductFilterForm(forms.Form):
    STATE_CHOICES = [
        ("", _("Any")),
        ("unreviewed", _("Not reviewed")),
        ("reviewed", _("Reviewed")),
    ]

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    tag = TagField(
        label=_("Suggested tag"),
        required=False,
        help_text=_("facet:value; products the active model suggests it for"),
    )
    facet = FacetChoiceField(
        label=_("Facet"), queryset=TagGroup.objects.all(), required=False, empty_label=_("Any")
    )
    category = forms.CharField(label=_("Category"), required=False, max_length=200)
    score_min = forms.FloatField(label=_("Score from"), required=False, min_value=0, max_value=1)
    score_max = forms.FloatField(label=_("Score to"), required=False, min_value=0, max_value=1)
    state = forms.ChoiceField(label=_("Review state"), choices=STATE_CHOICES, required=False)
    has_tag = TagField(label=_("Has approved tag"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            raise ValidationError(_("The lower score bound is above the upper one."))
        return data


class BulkTagForm(forms.Form):
    product = IntListField()
    tag = TagField(label=_("Tag"), active_only=True)
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("reject", _("Reject"))])
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].error_messages["required"] = _("Select at least one product.")


# -- taxonomy -------------------------------------------------------------------------


def _split_aliases(text: str) -> list[str]:
    """One alias per line or comma-separated; blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for part in text.replace(",", "\n").replace("，", "\n").splitlines():
        alias = part.strip()
        if alias:
            seen.setdefault(alias, None)
    return list(seen)


class AliasesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value: Any) -> list[str]:  # type: ignore[override]
        return _split_aliases(super().clean(value) or "")


class TagCreateForm(forms.ModelForm):
    aliases = AliasesField(
        label=_("Aliases"), required=False, help_text=_("One per line, or separated by commas.")
    )

    class Meta:
        model = Tag
        fields = ["group", "name", "display_name_en", "display_name_zh", "aliases", "description"]
        labels = {
            "group": _("Facet"),
            "name": _("Name"),
            "display_name_en": _("English name"),
            "display_name_zh": _("Chinese name"),
            "description": _("Description"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ":" in name:
            raise ValidationError(_("A tag name cannot contain ':'."))
        return name


class TagGroupCreateForm(forms.ModelForm):
    class Meta:
        model = TagGroup
        fields = ["name", "display_name_en", "display_name_zh", "multi_valued", "position"]
        labels = {
            "name": _("Name"),
            "display_name_en": _("English name"),
            "display_name_zh": _("Chinese name"),
            "multi_valued": _("A product may carry several tags of this facet"),
            "position": _("Position"),
        }
        help_texts = {"multi_valued": ""}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ":" in name:
            raise ValidationError(_("A facet name cannot contain ':'."))
        return name


class RenameTagForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=200)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ":" in name:
            raise ValidationError(_("A tag name cannot contain ':'."))
        return name


class MergeTagForm(forms.Form):
    into = TagField(label=_("Merge into"), active_only=True, help_text=_("facet:value"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DeprecateTagForm(forms.Form):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class AliasesForm(forms.Form):
    aliases = AliasesField(
        label=_("Aliases"), required=False, help_text=_("One per line, or separated by commas.")
    )


class DisplayNamesForm(forms.Form):
    display_name_en = forms.CharField(label=_("English name"), required=False, max_length=200)
    display_name_zh = forms.CharField(label=_("Chinese name"), required=False, max_length=200)


class RetrainForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Mode"),
        required=False,
        choices=[
            ("", _("Automatic (full fine-tune on a GPU, head otherwise)")),
            ("head", _("Frozen encoder + head")),
            ("full", _("Full fine-tune")),
        ],
    )

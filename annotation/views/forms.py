"""Forms of the browser UI: they validate what a page posts before a view
hands it to a service."""

from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from annotation.errors import TaxonomyError
from annotation.inputs import MAX_ID, parse_id
from annotation.models import Tag, TagGroup
from annotation.services import taxonomy
from annotation.templatetags.labels import localized_label

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class IntListField(forms.Field):
    """Every value of a repeated parameter (`?tag=1&tag=2`) as a list of ids
    (ASCII digits within the database's range)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        ids = [parse_id(str(v).strip()) for v in values if str(v).strip()]
        if None in ids:
            raise ValidationError(_("Expected a list of numbers."), code="invalid")
        return [i for i in ids if i is not None]

    def validate(self, value: list[int]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class TagField(forms.CharField):
    """A tag given by id or by its `facet:value` key (what people type)."""

    def __init__(self, *args: Any, active_only: bool = False, **kwargs: Any) -> None:
        self.active_only = active_only
        kwargs.setdefault("max_length", 402)
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Tag | None:
        text = super().clean(value)
        if not text:
            return None
        tags = Tag.objects.select_related("group")
        tag_id = parse_id(text)
        if tag_id is not None:
            tag = tags.filter(pk=tag_id).first()
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
    (`shown`), and the ones left checked or added (`tag`). `none_apply` is the
    reviewer's explicit "no tags apply" (the only way to submit no decision)."""

    product = forms.IntegerField(min_value=1, max_value=MAX_ID)
    shown = IntListField(required=False)
    tag = IntListField(required=False)
    none_apply = forms.BooleanField(required=False)

    def decisions(self) -> list[tuple[int, bool]]:
        checked = set(self.cleaned_data["tag"])
        shown = set(self.cleaned_data["shown"])
        return [(tag_id, tag_id in checked) for tag_id in sorted(shown | checked)]


class ProductActionForm(forms.Form):
    product = forms.IntegerField(min_value=1, max_value=MAX_ID)


# -- products (bulk review) -------------------------------------------------------------


class FacetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return localized_label(obj)


class ProductFilterForm(forms.Form):
    STATE_CHOICES: ClassVar[list[tuple[str, "StrOrPromise"]]] = [
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
        assert data is not None, "Form.clean returns cleaned_data"
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


FACET_NAME_HELP = _(
    "Letters (any script), digits, and single spaces, _, - or / between words: "
    "it is the first half of every facet:value key."
)


def clean_facet_name(value: str, exclude: int | None = None) -> str:
    """A new facet's name: stripped, in the form facet names take (the rule
    and its words are taxonomy.check_facet_name's, which the API and taxonomy
    files apply too), and no other facet's (case-insensitively)."""
    name = value.strip()
    try:
        taxonomy.check_facet_name(name)
    except TaxonomyError as exc:
        raise ValidationError(exc.localized(), code="invalid") from exc
    other = taxonomy.facet_named(name)
    if other is not None and other.pk != exclude:
        raise ValidationError(
            _("A facet named “%(name)s” already exists."),
            code="duplicate",
            params={"name": other.name},
        )
    return name


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

    def clean(self, value: Any) -> list[str]:
        return _split_aliases(super().clean(value) or "")


def _tag_name(value: str) -> str:
    name = value.strip()
    if ":" in name:
        raise ValidationError(_("A tag name cannot contain ':'."), code="colon")
    return name


def _tag_clash(group: TagGroup, name: str, exclude: int | None = None) -> Tag | None:
    """Another tag of the facet with this name, compared as the taxonomy
    compares (taxonomy.tag_named: Unicode case folding)."""
    clash = taxonomy.tag_named(group, name)
    return None if clash is None or clash.pk == exclude else clash


class TagCreateForm(forms.ModelForm):
    aliases = AliasesField(
        label=_("Aliases"), required=False, help_text=_("One per line, or separated by commas.")
    )

    class Meta:
        model = Tag
        fields: ClassVar[list[str]] = [
            "group",
            "name",
            "display_name_en",
            "display_name_zh",
            "aliases",
            "description",
        ]
        labels: ClassVar[dict[str, "StrOrPromise"]] = {
            "group": _("Facet"),
            "name": _("Name"),
            "display_name_en": _("English name"),
            "display_name_zh": _("Chinese name"),
            "description": _("Description"),
        }
        widgets: ClassVar[dict[str, forms.Widget]] = {
            "description": forms.Textarea(attrs={"rows": 2})
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = self.fields["group"]
        assert isinstance(group, forms.ModelChoiceField), "a foreign key"
        group.error_messages["invalid_choice"] = _("Choose a facet from the list.")

    def clean_name(self) -> str:
        return _tag_name(self.cleaned_data["name"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None, "Form.clean returns cleaned_data"
        group, name = data.get("group"), data.get("name")
        if group is None or not name:
            return data
        clash = _tag_clash(group, name)
        if clash is not None:
            self.add_error(
                "name",
                ValidationError(
                    _("The facet %(facet)s already has a tag named “%(name)s”."),
                    code="duplicate",
                    params={"facet": localized_label(group), "name": clash.name},
                ),
            )
            return data
        if data.get("aliases"):
            probe = Tag(group=group, name=name)
            try:
                data["aliases"] = taxonomy.check_aliases(probe, data["aliases"])
            except TaxonomyError as exc:
                self.add_error("aliases", exc.localized())
        return data


class TagGroupCreateForm(forms.ModelForm):
    class Meta:
        model = TagGroup
        fields: ClassVar[list[str]] = [
            "name",
            "display_name_en",
            "display_name_zh",
            "multi_valued",
            "position",
        ]
        labels: ClassVar[dict[str, "StrOrPromise"]] = {
            "name": _("Name"),
            "display_name_en": _("English name"),
            "display_name_zh": _("Chinese name"),
            "multi_valued": _("A product may carry several tags of this facet"),
            "position": _("Position"),
        }
        help_texts: ClassVar[dict[str, "StrOrPromise"]] = {
            "name": FACET_NAME_HELP,
            "multi_valued": "",
        }

    def clean_name(self) -> str:
        return clean_facet_name(self.cleaned_data["name"])


class RenameTagForm(forms.Form):
    """A tag's new name: refused here, before the confirmation step, when it
    is the tag's name already or another tag of the facet has it (`clash`:
    that tag, which the page offers to merge into instead)."""

    name = forms.CharField(label=_("New name"), max_length=200)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, tag: Tag, **kwargs: Any) -> None:
        self.tag = tag
        self.clash: Tag | None = None
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = _tag_name(self.cleaned_data["name"])
        if name == self.tag.name:
            raise ValidationError(_("That is the tag's name already."), code="unchanged")
        self.clash = _tag_clash(self.tag.group, name, exclude=self.tag.pk)
        if self.clash is not None:
            raise ValidationError(
                _(
                    "The facet %(facet)s already has a tag named “%(name)s”; "
                    "merge the two tags instead (below)."
                ),
                code="duplicate",
                params={"facet": localized_label(self.tag.group), "name": self.clash.name},
            )
        return name


class MergeTagForm(forms.Form):
    """The tag to merge `source` into, named exactly: the picker's choice (its
    id, with the facet:name it wrote), or a typed facet:name that is exactly
    one tag's. Anything less (a prefix, another case, an alias, a tag of
    another facet) is refused with the tags it might have meant."""

    into = forms.CharField(
        label=_("Merge into"),
        max_length=402,
        help_text=_("Choose the tag to keep from the list; it shows each as facet: name."),
    )
    into_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, source: Tag, **kwargs: Any) -> None:
        self.source = source
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None, "Form.clean returns cleaned_data"
        text = (data.get("into") or "").strip()
        if not text:
            return data
        facet, sep, name = text.partition(":")
        facet, name = facet.strip(), name.strip()
        tags = Tag.objects.select_related("group")
        exact = tags.filter(group__name=facet, name=name).first() if sep else None
        if data.get("into_id") is not None and (exact is None or exact.pk != data["into_id"]):
            raise ValidationError(
                _("The name in the box is not the tag picked from the list; pick it again."),
                code="mismatch",
            )
        if exact is None:
            raise ValidationError(self._not_exact(text, name or facet), code="inexact")
        self._check_target(exact)
        data["into"] = exact
        return data

    def _not_exact(self, text: str, name: str) -> str:
        near = [
            f"{t.group.name}: {t.name}"
            for t in Tag.objects.select_related("group")
            .filter(group_id=self.source.group_id, status=Tag.Status.ACTIVE)
            .exclude(pk=self.source.pk)
            .filter(Q(name__icontains=name) | Q(aliases__icontains=name))
            .order_by(Lower("name"), "pk")[:5]
        ]
        if near:
            return _("No tag is exactly “%(text)s”. Did you mean: %(near)s?") % {
                "text": text,
                "near": "; ".join(near),
            }
        return _("No tag is exactly “%(text)s”. Write it as facet:name, e.g. %(example)s.") % {
            "text": text,
            "example": f"{self.source.group.name}:{self.source.name}",
        }

    def _check_target(self, into: Tag) -> None:
        if into.pk == self.source.pk:
            raise ValidationError(_("A tag cannot be merged into itself."), code="itself")
        if into.group_id != self.source.group_id:
            raise ValidationError(
                _("%(tag)s is in another facet; a tag merges only within its facet.")
                % {"tag": f"{into.group.name}: {into.name}"},
                code="facet",
            )
        if not into.is_active:
            raise ValidationError(
                _("The tag %(tag)s is deprecated.") % {"tag": into.key}, code="deprecated"
            )


class UnmergeTagForm(forms.Form):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DeprecateTagForm(forms.Form):
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class AliasesForm(forms.Form):
    aliases = AliasesField(
        label=_("Aliases"), required=False, help_text=_("One per line, or separated by commas.")
    )


class CategoryFacetForm(forms.Form):
    """Mark a facet as the one naming the product's category (or unmark it)."""

    marked = forms.BooleanField(required=False)


class CategoryRuleForm(forms.Form):
    """An admin's word on one facet within a category."""

    ALLOW, EXCLUDE, LEARNED = "allow", "exclude", "learned"

    facet = forms.ModelChoiceField(queryset=TagGroup.objects.all())
    rule = forms.ChoiceField(choices=[(ALLOW, ALLOW), (EXCLUDE, EXCLUDE), (LEARNED, LEARNED)])

    @property
    def allowed(self) -> bool | None:
        """The override to store: True, False, or None to drop it."""
        rule = self.cleaned_data["rule"]
        return None if rule == self.LEARNED else rule == self.ALLOW


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

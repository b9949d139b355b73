"""Tag and facet names in the reader's language."""

import re
from typing import Protocol

from django import template
from django.utils.translation import get_language, gettext_lazy

register = template.Library()


class Labelled(Protocol):
    name: str
    display_name_en: str
    display_name_zh: str


def localized_label(obj: Labelled, language: str | None = None) -> str:
    """The Chinese display name for a zh-* reader, the English one otherwise,
    falling back to the other one and then to the raw name."""
    language = (language or get_language() or "en").lower()
    if language.startswith("zh"):
        return obj.display_name_zh or obj.display_name_en or obj.name
    return obj.display_name_en or obj.name


class FacetedLabelled(Labelled, Protocol):
    @property
    def group(self) -> Labelled: ...


def facet_and_tag_label(tag: FacetedLabelled, language: str | None = None) -> str:
    """A tag as lists of tags from every facet show it, "Facet: tag", in the
    reader's language (the dashboard's long tail, the models page's per-tag quality)."""
    return f"{localized_label(tag.group, language)}: {localized_label(tag, language)}"


@register.filter
def label(obj: Labelled | None) -> str:
    if obj is None:
        return ""
    return localized_label(obj)


# The models' choice labels are English literals; these are the translated ones.
REASON_LABELS = {
    "uncertain": gettext_lazy("The model is unsure"),
    "rare_tag": gettext_lazy("Likely carries a rare tag"),
    "new_product": gettext_lazy("New product, not scored yet"),
    "exploration": gettext_lazy("Exploration (random)"),
    "diverse": gettext_lazy("Diverse sample (cold start)"),
    "overlap": gettext_lazy("Second opinion (agreement)"),
    "possible_mistake": gettext_lazy("Possible mistake: the model contradicts a decision"),
}
ACTION_LABELS = {
    "accept": gettext_lazy("Accepted a suggestion"),
    "add": gettext_lazy("Added a tag"),
    "reject": gettext_lazy("Rejected a suggestion"),
    "remove": gettext_lazy("Removed a tag"),
    "skip": gettext_lazy("Skipped the product"),
    "undo": gettext_lazy("Undid a decision"),
    "import": gettext_lazy("Imported"),
    "bulk_accept": gettext_lazy("Bulk accepted"),
    "bulk_reject": gettext_lazy("Bulk rejected"),
    "merge": gettext_lazy("Moved by a tag merge"),
    "unmerge": gettext_lazy("Moved back by an unmerge"),
}
STATE_LABELS = {
    "approved": gettext_lazy("approved"),
    "rejected": gettext_lazy("rejected"),
    "": gettext_lazy("none"),
}
SOURCE_LABELS = {
    "human": gettext_lazy("person"),
    "import": gettext_lazy("import"),
    "auto": gettext_lazy("model"),
}
VERSION_STATUS_LABELS = {
    "training": gettext_lazy("training"),
    "ready": gettext_lazy("ready"),
    "active": gettext_lazy("active"),
    "failed": gettext_lazy("failed"),
    "archived": gettext_lazy("archived"),
}


@register.filter
def reason_label(value: str) -> str:
    return str(REASON_LABELS.get(value, value))


@register.filter
def action_label(value: str) -> str:
    return str(ACTION_LABELS.get(value, value))


# The notes the taxonomy service writes on the events of a merge and an
# unmerge; any other note (a reviewer's, an API client's) is shown as written.
_EVENT_NOTES = (
    (
        re.compile(r"merged (?P<source>.+) into (?P<target>.+)"),
        gettext_lazy("merged %(source)s into %(target)s"),
    ),
    (
        re.compile(r"unmerged (?P<source>.+) from (?P<target>.+)"),
        gettext_lazy("unmerged %(source)s from %(target)s"),
    ),
)


@register.filter
def event_note(value: str) -> str:
    for pattern, text in _EVENT_NOTES:
        match = pattern.fullmatch(value or "")
        if match is not None:
            return str(text) % match.groupdict()
    return value


@register.filter
def state_label(value: str | None) -> str:
    return str(STATE_LABELS.get(value or "", value))


@register.filter
def source_label(value: str) -> str:
    return str(SOURCE_LABELS.get(value, value))


@register.filter
def version_status_label(value: str) -> str:
    return str(VERSION_STATUS_LABELS.get(value, value))


RUN_STATUS_LABELS = {
    "queued": gettext_lazy("queued"),
    "running": gettext_lazy("running"),
    "succeeded": gettext_lazy("succeeded"),
    "failed": gettext_lazy("failed"),
    "cancelled": gettext_lazy("cancelled"),
}


@register.filter
def run_status_label(value: str) -> str:
    return str(RUN_STATUS_LABELS.get(value, value))


MODE_LABELS = {
    "zero_shot": gettext_lazy("zero-shot"),
    "head": gettext_lazy("frozen encoder + head"),
    "full": gettext_lazy("full fine-tune"),
}


@register.filter
def mode_label(value: str) -> str:
    return str(MODE_LABELS.get(value, value))


# The review queue's ordering strategies (training.ml.query.STRATEGIES), in
# plain words, for pages that say why a product came up.
STRATEGY_LABELS = {
    "random": gettext_lazy("random order"),
    "least_confidence": gettext_lazy("least confident first"),
    "margin_min": gettext_lazy("closest calls first"),
    "margin_mean": gettext_lazy("closest calls first (on average)"),
    "entropy": gettext_lazy("most uncertain first"),
    "uncertainty": gettext_lazy("most uncertain first"),
    "long_tail": gettext_lazy("closest calls and rare tags first"),
    "diverse_long_tail": gettext_lazy("closest calls and rare tags, varied"),
    "cold_start": gettext_lazy("a varied sample (cold start)"),
    "ranked_batch": gettext_lazy("closest calls first, each unlike the ones before"),
    "density_margin": gettext_lazy("closest calls first, typical products before outliers"),
    "rare_search": gettext_lazy("likely carriers of rare tags first"),
    "diverse_rare_search": gettext_lazy("closest calls, varied, and likely rare tags"),
    "possible_mistake": gettext_lazy("possible mistakes sent back"),
    "default": gettext_lazy("the default order"),
}


@register.filter
def strategy_label(value: str) -> str:
    return str(STRATEGY_LABELS.get(value, value))

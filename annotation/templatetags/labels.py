"""Tag and facet names in the reader's language."""

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

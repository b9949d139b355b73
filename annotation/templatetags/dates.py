"""Dates as <time> elements: the ISO datetime for machines, a readable form for
people, kept on one line by app.css. The element is safe HTML, so it can stand
inside a translated sentence ("Merged {{ when }} by {{ who }}.") without the
sentence, or its translation, changing."""

from datetime import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

NATURAL = "natural"


@register.filter(expects_localtime=True)
def time_tag(value: datetime | None, shown: str = "SHORT_DATETIME_FORMAT") -> SafeString | str:
    """`value` as <time datetime="ISO">…</time>; `shown` is a date format (a
    format name such as SHORT_DATETIME_FORMAT, or format characters), or
    "natural" for humanize's "3 hours ago". Nothing for no date."""
    if not value:
        return ""
    text = naturaltime(value) if shown == NATURAL else formats.date_format(value, shown)
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), text)

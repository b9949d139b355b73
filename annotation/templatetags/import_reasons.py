"""Why an import rejected a row or a file, in the reader's language.

The importer (annotation.services.importing) writes its reasons in English:
they go to the API, the command line and the import's stored record alike.
The import pages show them through `import_reason`, which recognises each
known message and gives its translation with the same details (ids, sizes,
column names); a message it does not know is shown as written."""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

register = template.Library()

# What the importer calls a kind of JSON value (json_values.json_type_name).
_TYPE_NAMES: dict[str, "StrOrPromise"] = {
    "a list": _("a list"),
    "an object": _("an object"),
    "a string": _("a string"),
    "true/false": _("true/false"),
    "null": _("null"),
    "a number": _("a number"),
    "a value": _("a value"),
}


# What the importer says a file that is not a catalogue looks like
# (streams._MAGIC and streams.describe_binary).
_FILE_KINDS: dict[str, "StrOrPromise"] = {
    "a PNG image": _("a PNG image"),
    "a JPEG image": _("a JPEG image"),
    "a GIF image": _("a GIF image"),
    "a PDF document": _("a PDF document"),
    "a ZIP archive (an Excel .xlsx workbook is one: save it as CSV)": _(
        "a ZIP archive (an Excel .xlsx workbook is one: save it as CSV)"
    ),
    "an old Microsoft Office file (save it as CSV)": _(
        "an old Microsoft Office file (save it as CSV)"
    ),
    "a bzip2 archive (only gzip compression is supported)": _(
        "a bzip2 archive (only gzip compression is supported)"
    ),
    "an xz archive (only gzip compression is supported)": _(
        "an xz archive (only gzip compression is supported)"
    ),
    "a 7-Zip archive": _("a 7-Zip archive"),
    "UTF-16 text (save the file as UTF-8)": _("UTF-16 text (save the file as UTF-8)"),
    "a binary file": _("a binary file"),
}


@dataclass(frozen=True)
class Reason:
    pattern: re.Pattern[str]
    text: "StrOrPromise"  # with a %(name)s for each named group


def _r(pattern: str, text: "StrOrPromise") -> Reason:
    return Reason(re.compile(pattern, re.DOTALL), text)


def _same(message: str) -> Reason:
    """A message without details, recognised as written: `message` is the
    importer's English text, marked with gettext_noop, and its own msgid."""
    return Reason(re.compile(re.escape(message), re.DOTALL), _(message))


_Q = r"'.*'|\".*\""  # a value the importer quotes with repr()

REASONS: tuple[Reason, ...] = (
    # Rows.
    _r(r"missing required field: (?P<fields>.+)", _("missing required field: %(fields)s")),
    _same(gettext_noop("id is empty")),
    _r(
        rf"id (?P<id>{_Q}) contains control or invalid characters; "
        r"ids are printed, typed and used in URLs",
        _(
            "id %(id)s contains control or invalid characters; "
            "ids are printed, typed and used in URLs"
        ),
    ),
    _same(gettext_noop("title is empty (after removing HTML and blank space)")),
    _r(
        r"(?P<field>\w+) must be text, found (?P<type>.+)",
        _("%(field)s must be text, found %(type)s"),
    ),
    _r(
        r"(?P<field>\w+) is (?P<length>[\d,]+) characters long; "
        r"the limit is (?P<limit>[\d,]+) characters",
        _("%(field)s is %(length)s characters long; the limit is %(limit)s characters"),
    ),
    _r(
        r"(?P<field>\w+) contains malformed HTML \(many '<' without a matching '>' or "
        r"unclosed <script>/<style> tags\); fix or remove the markup",
        _(
            "%(field)s contains malformed HTML (many '<' without a matching '>' or "
            "unclosed <script>/<style> tags); fix or remove the markup"
        ),
    ),
    _same(gettext_noop('attributes must be a JSON object such as {"material": "cotton"}')),
    _r(
        r"attributes must be an object, found (?P<type>.+)",
        _("attributes must be an object, found %(type)s"),
    ),
    _r(
        r"attributes are nested more than (?P<n>\d+) levels deep",
        _("attributes are nested more than %(n)s levels deep"),
    ),
    _r(
        r"image_url is not a valid http\(s\) URL: (?P<url>.*)",
        _("image_url is not a valid http(s) URL: %(url)s"),
    ),
    _r(
        rf"language (?P<language>{_Q}) is not a language code such as en or zh",
        _("language %(language)s is not a language code such as en or zh"),
    ),
    _r(
        r'tags must be a list such as \["color:Blue"\], found (?P<type>.+)',
        _('tags must be a list such as ["color:Blue"], found %(type)s'),
    ),
    _r(
        r"the product has (?P<n>[\d,]+) tags; the limit is (?P<limit>[\d,]+)",
        _("the product has %(n)s tags; the limit is %(limit)s"),
    ),
    _r(
        r"each tag must be text in facet:value form, found (?P<type>.+)",
        _("each tag must be text in facet:value form, found %(type)s"),
    ),
    _r(
        rf"tag (?P<tag>{_Q}) is not in facet:value form \(for example color:Navy Blue\)",
        _("tag %(tag)s is not in facet:value form (for example color:Navy Blue)"),
    ),
    _r(
        rf"the facet of tag (?P<tag>{_Q})… is over (?P<n>\d+) characters",
        _("the facet of tag %(tag)s… is over %(n)s characters"),
    ),
    _r(
        rf"the value of tag (?P<tag>{_Q})… is over (?P<n>\d+) characters",
        _("the value of tag %(tag)s… is over %(n)s characters"),
    ),
    _r(
        r"the tag (?P<tag>.+) is deprecated; remove it from the file or use an active tag",
        _("the tag %(tag)s is deprecated; remove it from the file or use an active tag"),
    ),
    _r(
        r"the product has (?P<n>[\d,]+) attributes; the limit is (?P<limit>[\d,]+) "
        r"\(every column or key that is not a product field is an attribute\)",
        _(
            "the product has %(n)s attributes; the limit is %(limit)s "
            "(every column or key that is not a product field is an attribute)"
        ),
    ),
    _r(
        r"the attributes take (?P<size>.+) as JSON; the limit is (?P<limit>.+)",
        _("the attributes take %(size)s as JSON; the limit is %(limit)s"),
    ),
    _r(
        r"the product has (?P<n>[\d,]+) fields; at most (?P<limit>[\d,]+) "
        r"attributes are allowed beside the product fields",
        _(
            "the product has %(n)s fields; at most %(limit)s attributes are allowed "
            "beside the product fields"
        ),
    ),
    _r(
        rf"both (?P<first>{_Q}) and (?P<second>{_Q}) give the (?P<what>.+)",
        _("both %(first)s and %(second)s give the %(what)s"),
    ),
    # Files.
    _same(gettext_noop("the file is empty")),
    _same(gettext_noop("the file holds no products")),
    _same(gettext_noop("the gzip data is corrupt")),
    _same(gettext_noop("the gzip file is truncated: it ends before its first line is complete")),
    _same(
        gettext_noop(
            "the gzip file is truncated: it ends in the middle of the data "
            "(was the upload or download cut short?)"
        )
    ),
    _r(
        r"this is not a CSV/JSON/JSONL file \(it looks like (?P<what>.+)\)",
        _("this is not a CSV/JSON/JSONL file (it looks like %(what)s)"),
    ),
    _r(
        r"the JSON is malformed: (?P<problem>.+) \(column (?P<column>\d+)\)",
        _("the JSON is malformed: %(problem)s (column %(column)s)"),
    ),
    _r(
        r"invalid UTF-8 at byte offset (?P<offset>\d+) \(save the file with UTF-8 encoding\)",
        _("invalid UTF-8 at byte offset %(offset)s (save the file with UTF-8 encoding)"),
    ),
    _r(
        r"a JSON value here is over (?P<size>.+), the most one product may take",
        _("a JSON value here is over %(size)s, the most one product may take"),
    ),
    _same(gettext_noop("the JSON is nested too deeply")),
    _r(
        r'a JSON file must hold a list of products, or an object with a "products" list; '
        r"this one holds (?P<type>.+)",
        _(
            'a JSON file must hold a list of products, or an object with a "products" '
            "list; this one holds %(type)s"
        ),
    ),
    _r(
        r"the row is longer than (?P<size>.+) \(it runs on to line (?P<line>[\d,]+)\); "
        r'is a quote \("\) left open\?',
        _(
            'the row is longer than %(size)s (it runs on to line %(line)s); is a quote (") '
            "left open?"
        ),
    ),
    _r(
        r"the header row is not valid CSV: (?P<problem>.+)",
        _("the header row is not valid CSV: %(problem)s"),
    ),
    _r(
        r"the header has (?P<n>[\d,]+) columns; the limit is (?P<limit>[\d,]+) "
        r"\(every column that is not a product field becomes an attribute\)",
        _(
            "the header has %(n)s columns; the limit is %(limit)s (every column that is not "
            "a product field becomes an attribute)"
        ),
    ),
    _r(
        rf"the column (?P<name>{_Q}) appears twice in the header",
        _("the column %(name)s appears twice in the header"),
    ),
    _r(
        rf"the column (?P<name>{_Q}) named in the mapping is not in the file "
        r"\(its columns: (?P<columns>.*)\)",
        _("the column %(name)s named in the mapping is not in the file (its columns: %(columns)s)"),
    ),
    _r(r"the header is ambiguous: (?P<problem>.+)", _("the header is ambiguous: %(problem)s")),
    _r(
        r"the file has no (?P<wanted>.+) column; it needs an id column \(id or external_id\) "
        r"and a title column\. Its columns are: (?P<columns>.*)\. Rename the columns, or map "
        r"them \(for example --map sku=id --map name=title\)",
        _(
            "the file has no %(wanted)s column; it needs an id column (id or external_id) and a "
            "title column. Its columns are: %(columns)s. Rename the columns, or map them (for "
            "example --map sku=id --map name=title)"
        ),
    ),
    _r(
        r"the data is over (?P<limit>.+) once decompressed, the most one import reads "
        r"\(a file that inflates this much is refused\); split the catalogue into smaller files",
        _(
            "the data is over %(limit)s once decompressed, the most one import reads (a file "
            "that inflates this much is refused); split the catalogue into smaller files"
        ),
    ),
    _r(
        r"the data is over (?P<limit>.+) once decompressed, the most one import reads "
        r"\(a file that inflates this much is refused\)",
        _(
            "the data is over %(limit)s once decompressed, the most one import reads (a file "
            "that inflates this much is refused)"
        ),
    ),
    _r(
        r"the file is over (?P<limit>.+), the most one import reads; "
        r"split the catalogue into smaller files",
        _(
            "the file is over %(limit)s, the most one import reads; split the catalogue into "
            "smaller files"
        ),
    ),
    _r(
        r"the line is longer than (?P<size>.+), the most one product may take "
        r"\(is this really a CSV or JSON Lines file, with one product a line\?\)",
        _(
            "the line is longer than %(size)s, the most one product may take (is this really "
            "a CSV or JSON Lines file, with one product a line?)"
        ),
    ),
    _r(
        rf"unknown format (?P<format>{_Q}): use one of (?P<formats>.+)",
        _("unknown format %(format)s: use one of %(formats)s"),
    ),
    _r(
        r"the file is (?P<size>[\d.,]+ \w+); the limit is (?P<limit>[\d.,]+ \w+)",
        _("the file is %(size)s; the limit is %(limit)s"),
    ),
    _r(
        r"expected a JSON object for a product, found (?P<type>.+)",
        _("expected a JSON object for a product, found %(type)s"),
    ),
    _r(
        r"malformed JSON: (?P<problem>.+) \(column (?P<column>\d+)\)",
        _("malformed JSON: %(problem)s (column %(column)s)"),
    ),
    _r(r"malformed JSON: (?P<problem>.+)", _("malformed JSON: %(problem)s")),
    _r(
        r"the row has (?P<n>[\d,]+) values but the header has (?P<columns>[\d,]+) columns "
        r"\(check the quoting and the separators\)",
        _(
            "the row has %(n)s values but the header has %(columns)s columns (check the "
            "quoting and the separators)"
        ),
    ),
    _r(r"not valid CSV: (?P<problem>.+)", _("not valid CSV: %(problem)s")),
    _r(
        r"invalid UTF-8 at byte offset (?P<offset>\d+) of the file "
        r"\(save the file with UTF-8 encoding\)",
        _(
            "invalid UTF-8 at byte offset %(offset)s of the file (save the file with UTF-8 encoding)"
        ),
    ),
    _r(
        r"invalid UTF-8 at byte offset (?P<offset>\d+) of the decompressed data "
        r"\(save the file with UTF-8 encoding\)",
        _(
            "invalid UTF-8 at byte offset %(offset)s of the decompressed data (save the file "
            "with UTF-8 encoding)"
        ),
    ),
    _r(r"the header row has (?P<problem>.+)", _("the header row has a problem: %(problem)s")),
    _r(
        rf"the id (?P<id>{_Q}) appears twice: first on line (?P<line>[\d,]+)",
        _("the id %(id)s appears twice: first on line %(line)s"),
    ),
    _same(gettext_noop("unreadable row")),
    # The background job (annotation.services.importing.background).
    _same(gettext_noop("the import stopped with an internal error; nothing was saved")),
    _r(
        r"the uploaded file was not found by the worker .*; nothing was saved, upload it again",
        _(
            "the uploaded file was not found by the worker (is TAGGER_UPLOAD_DIR shared by "
            "the web and worker hosts?); nothing was saved, upload it again"
        ),
    ),
    _r(
        r"the worker running this import stopped reporting .*; nothing was saved, "
        r"upload the file again",
        _(
            "the worker running this import stopped reporting (it was killed or its "
            "machine went away); nothing was saved, upload the file again"
        ),
    ),
)


# What Python's json and csv modules say is wrong (the `problem` of "malformed
# JSON: …", "the JSON is malformed: …", "not valid CSV: …").
PROBLEMS: tuple[Reason, ...] = (
    _r(r"Expecting value", _("a value is expected here")),
    _r(
        r"Expecting property name enclosed in double quotes",
        _("a property name in double quotes is expected here"),
    ),
    _r(r"Expecting ',' delimiter", _("a comma is expected here")),
    _r(r"Expecting ':' delimiter", _("a colon is expected here")),
    _r(r"Unterminated string starting at", _("a string is not closed")),
    _r(r"Invalid control character (?P<char>.+) at", _("invalid control character %(char)s")),
    _r(r"Invalid control character at", _("invalid control character")),
    _r(r"Invalid \\escape: (?P<escape>.+)", _("invalid escape %(escape)s")),
    _r(r"Invalid \\uXXXX escape", _("invalid \\uXXXX escape")),
    _r(r"Extra data", _("more data follows the value")),
    _r(
        r"(?P<name>NaN|Infinity|-Infinity) is not a valid JSON value",
        _("%(name)s is not a valid JSON value"),
    ),
    _r(r"line contains NUL", _("the line contains a NUL character")),
    _r(
        r"field larger than field limit \((?P<limit>\d+)\)",
        _("a field is larger than %(limit)s characters"),
    ),
    _r(
        r"new-line character seen in unquoted field.*",
        _("a line break inside an unquoted field"),
    ),
    _r(r"'.' expected after '\"'", _("a separator is expected after a closing quote")),
)


def _match(table: tuple[Reason, ...], text: str) -> str | None:
    for known in table:
        match = known.pattern.fullmatch(text)
        if match is None:
            continue
        values = {name: _detail(name, value) for name, value in match.groupdict().items()}
        return str(known.text) % values if values else str(known.text)
    return None


def _detail(name: str, value: str) -> str:
    """A detail of a reason, itself translated where it is one of the
    importer's words (a JSON type, a kind of file, a nested problem)."""
    if name == "type":
        return str(_TYPE_NAMES.get(value, value))
    if name == "what":  # a kind of file; a field name (title, id) is left as is
        return str(_FILE_KINDS.get(value, value))
    if name == "problem":
        return _match(PROBLEMS, value) or translate_reason(value)
    return value


def translate_reason(reason: str) -> str:
    """The reason in the active language (as written when unknown)."""
    found = _match(REASONS, reason)
    return reason if found is None else found


@register.filter
def import_reason(reason: object) -> str:
    return translate_reason(str(reason)) if reason else ""

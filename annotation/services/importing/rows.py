"""Validate and clean one raw row into a `ProductRow`, or explain in plain
words why it cannot be imported."""

import bisect
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from annotation.services.importing.json_values import json_type_name, loads
from annotation.services.importing.limits import ImportLimits, size_text
from annotation.services.importing.tags import TagResolver
from training.ml.text import clean_text, detect_language, product_text

# Source names (compared case-insensitively, spaces and dashes as underscores)
# and the product field each fills. Anything else is kept as an attribute.
FIELD_NAMES = {
    "id": "external_id",
    "external_id": "external_id",
    "title": "title",
    "description": "description",
    "brand": "brand",
    "category": "category",
    "category_path": "category",
    "attributes": "attributes",
    "image_url": "image_url",
    "language": "language",
    "lang": "language",
    "tags": "tags",
}
# How the error messages name each field.
FIELD_LABELS = {
    "external_id": "id",
    "title": "title",
    "description": "description",
    "brand": "brand",
    "category": "category",
    "attributes": "attributes",
    "image_url": "image_url",
    "language": "language",
    "tags": "tags",
}
EXPECTED = {"external_id": ("id", "external_id"), "title": ("title",)}

MAX_ID = 255
MAX_TITLE = 1_000
MAX_DESCRIPTION = 100_000
MAX_BRAND = 255
MAX_CATEGORY = 1_000
MAX_IMAGE_URL = 2_000
MAX_FACET = 100
MAX_TAG = 200
MAX_TAGS = 1_000
MAX_ATTRIBUTE_DEPTH = 32
# Distinct key sets whose resolution ColumnMap remembers: a file's rows share a
# few; a hostile file with a new key set on every row must not grow the cache.
_MAX_CACHED_KEY_SETS = 256
# Cleaning is linear on ordinary text but not on adversarial markup, so text
# far over its limit is refused before it reaches the HTML stripper.
_RAW_FACTOR = 4
# About a tenth of a second of regular-expression work per field.
MAX_MARKUP_COST = 10_000_000
_LT_RE = re.compile("<")
_GT_RE = re.compile(">")
_OPEN_RE = re.compile(r"<(?:script|style)\b", re.IGNORECASE)
_CLOSE_RE = re.compile(r"</(?:script|style)", re.IGNORECASE)

_TAG_SPLIT_RE = re.compile(r"[|;]")
_CATEGORY_SPLIT_RE = re.compile(r"\s*>+\s*")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_url_validator = URLValidator(schemes=["http", "https"])


class RowProblem(Exception):
    """A reason, in a merchandiser's words, why a row is rejected."""


@dataclass
class ProductRow:
    line: int
    external_id: str
    title: str
    description: str
    brand: str
    category_path: str
    attributes: dict[str, Any]
    image_url: str
    language: str
    normalized_text: str
    # None when the source says nothing about tags: existing tags are kept.
    tags: list[tuple[str, str]] | None
    content_hash: str


def normalise_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip()).casefold()


class ColumnMap:
    """Where each source key goes: ('field', name) or ('attr', name).

    `mapping` renames source keys first (`sku` -> `id`); the result is then
    matched against FIELD_NAMES. Resolution is cached per distinct key set,
    since the rows of one file nearly always share their keys."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self.mapping = {normalise_name(k): v.strip() for k, v in (mapping or {}).items()}
        self._cache: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}

    def target(self, key: str) -> tuple[str, str]:
        renamed = self.mapping.get(normalise_name(key), key)
        field = FIELD_NAMES.get(normalise_name(renamed))
        return ("field", field) if field else ("attr", renamed)

    def resolve(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Raises RowProblem when two source keys fill the same field."""
        keys = tuple(keys)
        cached = self._cache.get(keys)
        if cached is not None:
            return cached
        resolved: dict[str, tuple[str, str]] = {}
        filled: dict[tuple[str, str], str] = {}
        for key in keys:
            target = self.target(key)
            if target in filled:
                what = FIELD_LABELS.get(target[1], target[1])
                raise RowProblem(f"both {filled[target]!r} and {key!r} give the {what}")
            filled[target] = key
            resolved[key] = target
        if len(self._cache) < _MAX_CACHED_KEY_SETS:
            self._cache[keys] = resolved
        return resolved

    def missing_required(self, keys: Iterable[str]) -> list[str]:
        fields = {target[1] for target in self.resolve(keys).values() if target[0] == "field"}
        return [name for name in EXPECTED if name not in fields]


def _as_text(field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RowProblem(
        f"{FIELD_LABELS.get(field, field)} must be text, found {json_type_name(value)}"
    )


def _too_long(field: str, length: int, limit: int) -> RowProblem:
    return RowProblem(
        f"{FIELD_LABELS.get(field, field)} is {length:,} characters long; "
        f"the limit is {limit:,} characters"
    )


def markup_cost(text: str) -> int:
    """Roughly how many characters clean_text's regular expressions scan.

    Each '<' makes the tag pattern scan to the next '>', and each <script> or
    <style> opening scans to the next closing tag: fine for real HTML, but
    quadratic for text like '<<<<…' or '<script>' repeated without an end."""
    if "<" not in text:
        return 0
    length = len(text)
    greater = [m.start() for m in _GT_RE.finditer(text)]
    cost = 0
    for m in _LT_RE.finditer(text):
        index = bisect.bisect_left(greater, m.start())
        cost += (greater[index] if index < len(greater) else length) - m.start()
    closers = [m.start() for m in _CLOSE_RE.finditer(text)]
    for m in _OPEN_RE.finditer(text):
        index = bisect.bisect_left(closers, m.start())
        cost += (closers[index] if index < len(closers) else length) - m.start()
    return cost


def _clean(field: str, value: Any, limit: int) -> str:
    raw = _as_text(field, value)
    if len(raw) > limit * _RAW_FACTOR:
        raise _too_long(field, len(raw), limit)
    if markup_cost(raw) > MAX_MARKUP_COST:
        label = FIELD_LABELS.get(field, field)
        raise RowProblem(
            f"{label} contains malformed HTML (many '<' without a matching '>' or "
            "unclosed <script>/<style> tags); fix or remove the markup"
        )
    text = clean_text(raw)
    if len(text) > limit:
        raise _too_long(field, len(text), limit)
    return text


def _category(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, list):
        parts = [_clean("category", part, MAX_CATEGORY) for part in value]
    else:
        raw = _as_text("category", value)
        if len(raw) > MAX_CATEGORY * _RAW_FACTOR:
            raise _too_long("category", len(raw), MAX_CATEGORY)
        parts = [clean_text(part) for part in _CATEGORY_SPLIT_RE.split(clean_text(raw))]
    path = " > ".join(part for part in parts if part)
    if len(path) > MAX_CATEGORY:
        raise _too_long("category", len(path), MAX_CATEGORY)
    return path


def _attributes(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = loads(value)
        except ValueError as exc:
            raise RowProblem(
                'attributes must be a JSON object such as {"material": "cotton"}'
            ) from exc
    if not isinstance(value, dict):
        raise RowProblem(f"attributes must be an object, found {json_type_name(value)}")
    return _storable(value)


# NUL cannot be stored in a PostgreSQL text or jsonb value, and a lone UTF-16
# surrogate (valid in a JSON string, "\\ud800") cannot be encoded as UTF-8.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any, depth: int = 0) -> Any:
    """The attribute value with the characters no database can store replaced
    by U+FFFD, keys and strings alike; nesting is capped so a hostile file
    cannot exhaust the stack."""
    if depth > MAX_ATTRIBUTE_DEPTH:
        raise RowProblem(f"attributes are nested more than {MAX_ATTRIBUTE_DEPTH} levels deep")
    if isinstance(value, str):
        return _UNSTORABLE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(k, depth): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    return value


def _image_url(value: Any) -> str:
    url = _as_text("image_url", value).strip()
    if not url:
        return ""
    if len(url) > MAX_IMAGE_URL:
        raise _too_long("image_url", len(url), MAX_IMAGE_URL)
    try:
        _url_validator(url)
    except ValidationError as exc:
        raise RowProblem(f"image_url is not a valid http(s) URL: {url[:200]!r}") from exc
    return url


def _language(value: Any, text: str) -> str:
    given = _as_text("language", value).strip().casefold().replace("_", "-")
    if not given:
        return detect_language(text)
    if len(given) > 8 or not _LANGUAGE_RE.match(given):
        raise RowProblem(f"language {given[:50]!r} is not a language code such as en or zh")
    return given


def _tags(value: Any, resolver: TagResolver) -> list[tuple[str, str]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        items: list[Any] = [item for item in _TAG_SPLIT_RE.split(value) if item.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise RowProblem(
            f'tags must be a list such as ["color:Blue"], found {json_type_name(value)}'
        )
    if len(items) > MAX_TAGS:
        raise RowProblem(f"the product has {len(items):,} tags; the limit is {MAX_TAGS:,}")
    tags: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if not isinstance(item, str):
            raise RowProblem(
                f"each tag must be text in facet:value form, found {json_type_name(item)}"
            )
        parsed = _parse_tag(item)
        if isinstance(parsed, str):
            raise RowProblem(parsed)
        facet, name = parsed
        key = (facet.casefold(), name.casefold())
        if key in seen:
            continue
        seen.add(key)
        problem = resolver.problem(facet, name)
        if problem:
            raise RowProblem(problem)
        tags.append((facet, name))
    return tags


@lru_cache(maxsize=65536)
def _parse_tag(item: str) -> tuple[str, str] | str:
    """(facet, value), or the reason it is malformed. Cached: a catalogue
    repeats a few hundred tag strings across all its products."""
    text = clean_text(item[: (MAX_FACET + MAX_TAG) * _RAW_FACTOR])
    facet, sep, name = text.partition(":")
    facet, name = facet.strip(), name.strip()
    if not (sep and facet and name):
        return (
            f"tag {item.strip()[:100]!r} is not in facet:value form (for example color:Navy Blue)"
        )
    if len(facet) > MAX_FACET:
        return f"the facet of tag {text[:60]!r}… is over {MAX_FACET} characters"
    if len(name) > MAX_TAG:
        return f"the value of tag {text[:60]!r}… is over {MAX_TAG} characters"
    return facet, name


def _check_attributes(attributes: dict[str, Any], limits: ImportLimits) -> None:
    if len(attributes) > limits.attributes:
        raise RowProblem(
            f"the product has {len(attributes):,} attributes; the limit is "
            f"{limits.attributes:,} (every column or key that is not a product field "
            "is an attribute)"
        )
    text = json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.attribute_bytes:
        raise RowProblem(
            f"the attributes take {size_text(size)} as JSON; the limit is "
            f"{size_text(limits.attribute_bytes)}"
        )


def content_hash(fields: Mapping[str, Any]) -> str:
    """A fingerprint of everything an import stores for a product (tags as
    case-folded `facet:value` strings), so an unchanged row costs no write."""
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def build_row(
    line: int,
    data: Mapping[str, Any],
    columns: ColumnMap,
    resolver: TagResolver,
    limits: ImportLimits,
) -> ProductRow:
    """Validate and clean one row; raises RowProblem."""
    if len(data) > limits.attributes + len(FIELD_NAMES):
        # Refused before any work: a key per attribute at the least.
        raise RowProblem(
            f"the product has {len(data):,} fields; at most {limits.attributes:,} "
            "attributes are allowed beside the product fields"
        )
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, (kind, name) in columns.resolve(data.keys()).items():
        value = data[key]
        if kind == "field":
            values[name] = value
        elif isinstance(value, str):
            # An empty cell says nothing about a product: no attribute for it.
            if value.strip():
                extra[name] = value.strip()
        elif value is not None:
            extra[name] = value

    missing = [FIELD_LABELS[name] for name in ("external_id", "title") if values.get(name) is None]
    if missing:
        raise RowProblem(f"missing required field: {' and '.join(missing)}")
    external_id = _as_text("external_id", values["external_id"]).strip()
    if not external_id:
        raise RowProblem("id is empty")
    if any(not ch.isprintable() for ch in external_id):
        raise RowProblem(
            f"id {external_id[:100]!r} contains control or invalid characters; "
            "ids are printed, typed and used in URLs"
        )
    if len(external_id) > MAX_ID:
        raise _too_long("external_id", len(external_id), MAX_ID)

    title = _clean("title", values["title"], MAX_TITLE)
    if not title:
        raise RowProblem("title is empty (after removing HTML and blank space)")
    description = _clean("description", values.get("description"), MAX_DESCRIPTION)
    brand = _clean("brand", values.get("brand"), MAX_BRAND)
    category_path = _category(values.get("category"))
    # Explicit attributes win over stray columns of the same name.
    attributes = {**_storable(extra), **_attributes(values.get("attributes"))}
    _check_attributes(attributes, limits)
    image_url = _image_url(values.get("image_url"))
    normalized = product_text(title, description)
    language = _language(values.get("language"), normalized)
    tags = _tags(values.get("tags"), resolver)

    digest = content_hash(
        {
            "title": title,
            "description": description,
            "brand": brand,
            "category_path": category_path,
            "attributes": attributes,
            "image_url": image_url,
            "language": language,
            "tags": None
            if tags is None
            else sorted(f"{f.casefold()}:{n.casefold()}" for f, n in tags),
        }
    )
    return ProductRow(
        line=line,
        external_id=external_id,
        title=title,
        description=description,
        brand=brand,
        category_path=category_path,
        attributes=attributes,
        image_url=image_url,
        language=language,
        normalized_text=normalized,
        tags=tags,
        content_hash=digest,
    )

"""Import a taxonomy file: read a JSON document of facets and their tags and
create or update the TagGroup and Tag rows it describes, in one transaction."""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import transaction

from annotation.errors import TaxonomyError
from annotation.models import Tag, TagGroup
from annotation.services.taxonomy.names import (
    MAX_FACET,
    MAX_TAG,
    check_facet_name,
    clean_aliases,
    clean_name,
)
from training.ml.text import clean_text

logger = logging.getLogger(__name__)

_FACET_FIELDS = ("display_name_en", "display_name_zh", "description")


@dataclass
class TaxonomyResult:
    facets_created: int = 0
    facets_updated: int = 0
    tags_created: int = 0
    tags_updated: int = 0


def load_document(source: str | Path | IO[bytes] | Mapping[str, Any]) -> Mapping[str, Any]:
    """The taxonomy document from a path, a binary stream or an already parsed
    mapping; TaxonomyError when it is not UTF-8 JSON with a "facets" list."""
    if isinstance(source, Mapping):
        return source
    try:
        raw = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
        document = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"the taxonomy file is not UTF-8 (byte offset {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise TaxonomyError(
            f"the taxonomy file is not valid JSON: {exc.msg} (line {exc.lineno}, "
            f"column {exc.colno})"
        ) from exc
    except ValueError as exc:
        # json's other refusals, such as an integer too long to convert.
        raise TaxonomyError(str(exc)) from exc
    if not isinstance(document, dict) or not isinstance(document.get("facets"), list):
        raise TaxonomyError('the taxonomy file must be an object with a "facets" list')
    return document


def _text_fields(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FACET_FIELDS:
        if name in spec:
            if not isinstance(spec[name], str):
                raise TaxonomyError(f"{where}: {name} must be text")
            values[name] = clean_text(spec[name])
    return values


def _apply(obj: TagGroup | Tag, values: Mapping[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed


def facet_named(name: str) -> TagGroup | None:
    """The facet called `name`, matched as import_taxonomy matches (Unicode
    casefold), not by the database's iexact (ASCII-only case folding on SQLite)."""
    key = name.casefold()
    return next((g for g in TagGroup.objects.all() if g.name.casefold() == key), None)


def tag_named(group: TagGroup, name: str) -> Tag | None:
    """The facet's tag called `name`, matched as import_taxonomy matches."""
    key = name.casefold()
    tags = Tag.objects.select_related("group").filter(group=group)
    return next((t for t in tags if t.name.casefold() == key), None)


def import_taxonomy(source: str | Path | IO[bytes] | Mapping[str, Any]) -> TaxonomyResult:
    """Upsert facets and tags from a JSON document:
    {"facets": [{"name", "display_name_en", "display_name_zh", "multi_valued",
    "description", "tags": [{"name", "display_name_en", "display_name_zh",
    "aliases": [], "description"}]}]}.

    Facets and tags are matched by name, case-insensitively; only the keys
    present are written, so running the same file twice changes nothing. A new
    facet's name must follow the rule for facet names (names.check_facet_name);
    an existing facet keeps the name it has.
    Raises TaxonomyError (nothing written) when the document is malformed."""
    document = load_document(source)
    result = TaxonomyResult()
    with transaction.atomic():
        groups = {g.name.casefold(): g for g in TagGroup.objects.all()}
        for f_index, facet_spec in enumerate(document["facets"], start=1):
            where = f"facet {f_index}"
            if not isinstance(facet_spec, dict):
                raise TaxonomyError(f"{where} must be an object")
            name = clean_name(facet_spec.get("name"), f"{where} name", MAX_FACET)
            where = f"facet {name!r}"
            values = _text_fields(facet_spec, where)
            for key in ("multi_valued",):
                if key in facet_spec:
                    if not isinstance(facet_spec[key], bool):
                        raise TaxonomyError(f"{where}: {key} must be true or false")
                    values[key] = facet_spec[key]
            if "position" in facet_spec:
                if not isinstance(facet_spec["position"], int) or facet_spec["position"] < 0:
                    raise TaxonomyError(f"{where}: position must be a whole number ≥ 0")
                values["position"] = facet_spec["position"]
            group = groups.get(name.casefold())
            if group is None:
                # A new facet follows the rule; one named before it keeps its name.
                check_facet_name(name)
                group = TagGroup.objects.create(name=name, **values)
                groups[name.casefold()] = group
                result.facets_created += 1
            else:
                changed = _apply(group, values)
                if changed:
                    group.save(update_fields=changed)
                    result.facets_updated += 1
            tag_specs = facet_spec.get("tags", [])
            if not isinstance(tag_specs, list):
                raise TaxonomyError(f"{where}: tags must be a list")
            _import_tags(group, tag_specs, where, result)
    logger.info("taxonomy imported: %s", result)
    return result


def _import_tags(group: TagGroup, specs: list[Any], where: str, result: TaxonomyResult) -> None:
    tags = {t.name.casefold(): t for t in Tag.objects.filter(group=group)}
    for t_index, spec in enumerate(specs, start=1):
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict):
            raise TaxonomyError(f"{where}, tag {t_index} must be an object or a name")
        name = clean_name(spec.get("name"), f"{where}, tag {t_index} name", MAX_TAG)
        tag_where = f"tag {group.name}:{name}"
        values = _text_fields(spec, tag_where)
        if "aliases" in spec:
            values["aliases"] = clean_aliases(spec["aliases"], name)
        tag = tags.get(name.casefold())
        if tag is None:
            tags[name.casefold()] = Tag.objects.create(group=group, name=name, **values)
            result.tags_created += 1
        else:
            changed = _apply(tag, values)
            if changed:
                tag.save(update_fields=[*changed, "updated_at"])
                result.tags_updated += 1

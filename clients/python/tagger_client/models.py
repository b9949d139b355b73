"""Typed records of the Tagger API's responses (the schema's components of the
same names). Each keeps the server's JSON in `raw`, so a field added later is
never lost to an older client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ExportTag:
    tag: str
    facet: str
    value: str
    source: str
    decided_by: str | None
    decided_at: datetime | None
    model_version: int | None
    score: float | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportTag:
        return cls(
            tag=data["tag"],
            facet=data["facet"],
            value=data["value"],
            source=data["source"],
            decided_by=data["decided_by"],
            decided_at=_time(data["decided_at"]),
            model_version=data["model_version"],
            score=data["score"],
        )


@dataclass(frozen=True)
class ExportRecord:
    """One product's complete approved tags: apply it by replacing its tags."""

    id: str
    title: str
    category: str
    changed_at: datetime
    tags: list[ExportTag]
    removed: list[ExportTag]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportRecord:
        changed_at = _time(data["changed_at"])
        assert changed_at is not None, "every export record has changed_at"
        return cls(
            id=data["id"],
            title=data["title"],
            category=data["category"],
            changed_at=changed_at,
            tags=[ExportTag.from_json(t) for t in data["tags"]],
            removed=[ExportTag.from_json(t) for t in data["removed"]],
            raw=data,
        )


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    category: str
    language: str
    tags: list[str]
    tags_updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Product:
        return cls(
            id=data["id"],
            title=data["title"],
            category=data["category"],
            language=data["language"],
            tags=list(data["tags"]),
            tags_updated_at=_time(data["tags_updated_at"]),
            raw=data,
        )


@dataclass(frozen=True)
class Facet:
    id: int
    name: str
    multi_valued: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facet:
        # Not required by the schema (the facet has a default): the server's default.
        multi_valued = data.get("multi_valued", True)
        return cls(id=data["id"], name=data["name"], multi_valued=multi_valued, raw=data)


@dataclass(frozen=True)
class Tag:
    id: int
    key: str
    facet: str
    name: str
    status: str
    merged_into: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tag:
        return cls(
            id=data["id"],
            key=data["key"],
            facet=data["facet"],
            name=data["name"],
            status=data["status"],
            merged_into=data["merged_into"],
            raw=data,
        )


@dataclass(frozen=True)
class Claim:
    """A product claimed for review, with the tags the review page would show."""

    product: Product
    reason: str
    lease_expires_at: datetime | None
    model_version: int | None
    tags: list[dict[str, Any]]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Claim:
        return cls(
            product=Product.from_json(data["product"]),
            reason=data["reason"],
            lease_expires_at=_time(data["lease_expires_at"]),
            model_version=data["model_version"],
            tags=list(data["tags"]),
            raw=data,
        )


@dataclass(frozen=True)
class CreatedFacets:
    """The facets an import created: how many, the first names (by name), and
    the first of them whose name breaks the server's rule for facet names."""

    count: int
    first: list[str]
    irregular: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreatedFacets:
        return cls(
            count=data["count"],
            first=[facet["name"] for facet in data["first"]],
            irregular=[facet["name"] for facet in data["irregular"]["first"]],
            raw=data,
        )


@dataclass(frozen=True)
class CreatedTags:
    """The tags an import created: how many, and the first `facet:value` keys."""

    count: int
    first: list[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreatedTags:
        return cls(count=data["count"], first=[tag["key"] for tag in data["first"]], raw=data)


@dataclass(frozen=True)
class ImportCreated:
    """What an import added to the taxonomy (zero until it succeeded)."""

    facets: CreatedFacets
    tags: CreatedTags
    raw: dict[str, Any] = field(repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.facets.count or self.tags.count)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportCreated:
        return cls(
            facets=CreatedFacets.from_json(data["facets"]),
            tags=CreatedTags.from_json(data["tags"]),
            raw=data,
        )


@dataclass(frozen=True)
class ImportBatch:
    id: int
    source: str
    status: str
    progress: float
    rows_total: int
    rows_created: int
    rows_updated: int
    rows_rejected: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    @property
    def created(self) -> ImportCreated | None:
        """What the import added to the taxonomy, from get_import; None from
        start_import, which answers before the import has run."""
        data = self.raw.get("created")
        return None if data is None else ImportCreated.from_json(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportBatch:
        return cls(
            id=data["id"],
            source=data["source"],
            status=data["status"],
            progress=data["progress"],
            rows_total=data["rows_total"],
            rows_created=data["rows_created"],
            rows_updated=data["rows_updated"],
            rows_rejected=data["rows_rejected"],
            raw=data,
        )


@dataclass(frozen=True)
class TrainingRun:
    id: int
    mode: str
    status: str
    progress: float
    stage: str
    error: str
    model_version: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingRun:
        return cls(
            id=data["id"],
            mode=data["mode"],
            status=data["status"],
            progress=data["progress"],
            stage=data["stage"],
            error=data["error"],
            model_version=data["model_version"],
            raw=data,
        )


@dataclass(frozen=True)
class ModelVersion:
    id: int
    mode: str
    status: str
    base_model: str
    micro_f1: float | None
    macro_f1: float | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelVersion:
        return cls(
            id=data["id"],
            mode=data["mode"],
            status=data["status"],
            base_model=data["base_model"],
            micro_f1=data["micro_f1"],
            macro_f1=data["macro_f1"],
            raw=data,
        )

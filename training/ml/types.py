"""Plain data types shared by the ML core and its callers."""

from collections.abc import Callable
from dataclasses import dataclass, field

ProgressFn = Callable[[float, str], None]
"""Called with (fraction done in [0, 1], stage text)."""

StopFn = Callable[[], bool]
"""Returns True when the caller asked to cancel; the callee then raises Cancelled."""


class Cancelled(Exception):
    """Raised when should_stop() returned True during a long step."""


@dataclass(frozen=True)
class TagSpec:
    """One tag of the taxonomy as the model sees it."""

    key: str  # "facet:value", e.g. "color:Navy Blue"
    facet: str  # "color"
    name: str  # "Navy Blue"
    aliases: tuple[str, ...] = ()  # extra surface forms, incl. English/Chinese display names
    single_valued: bool = False  # the facet allows at most one tag per product

    @classmethod
    def from_key(
        cls, key: str, aliases: tuple[str, ...] = (), single_valued: bool = False
    ) -> "TagSpec":
        facet, sep, name = key.partition(":")
        if not sep:
            facet, name = "", key
        return cls(key=key, facet=facet, name=name, aliases=aliases, single_valued=single_valued)

    def surface_forms(self) -> list[str]:
        """Name and aliases, distinct, longest first (so longer matches win)."""
        forms = {f.strip() for f in (self.name, *self.aliases) if f and f.strip()}
        return sorted(forms, key=lambda f: (-len(f), f))


@dataclass
class TagPrediction:
    tag: str  # TagSpec.key
    score: float  # calibrated-ish probability in [0, 1]
    selected: bool  # above the tag's own threshold, after single-valued facet decisions
    evidence: list[tuple[int, int]] = field(default_factory=list)  # [start, end) spans


def report(progress: ProgressFn | None, fraction: float, stage: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), stage)


def check_stop(should_stop: StopFn | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled("cancelled by the caller")

"""What the review page pre-ticks and which key reaches each tag, on plain data.

The review page (annotation/views/review.py) and the review-effort bench
(bench/review_effort.py) both call `layout`, so the bench replays exactly what a
reviewer sees. Two policies:

- OLD, the rule before issue #13: a tag the model selected (at or above its
  threshold) is ticked; shown are the selected and decided tags plus the best two
  runners-up per facet; only the first nine rows get a number key.
- NEW: a tag is ticked only when it is likely right. With a trained model,
  whose scores are calibrated probabilities p, a candidate at or above its own
  threshold (in a single-valued facet only its best one, so the facet may stay
  empty) is ticked when p clears one bar. Ticking a multi-valued tag costs an
  expected 1 - p keys (its untick) and not ticking it p keys (its tick), so it
  pays from p = 0.5; a single-valued facet's best candidate pays from p above
  the facet's chance of being empty (`empty_chance`: a wrong one is replaced by
  the right one's key at no extra cost). The precision target raises the bar:
  `precision_bar` picks the lowest bar at which the candidates above it, over
  the version's scored products, have a mean calibrated score (their expected
  precision) at or above the target. Without such a pool the bar is the target
  itself. A zero-shot model has no labels to
  calibrate on, so it ticks only tags whose name or an alias the text spells
  out, and not a name that several tags share, nor one inside another tag's
  longer name (`names_tag`). The model's other
  selections and the best few runners-up per facet stay on the page unticked,
  ordered by score, and every shown row gets a key: 1-9, then the letters that
  no other shortcut uses (runners-up give way when keys run out).

`review_keys` counts the keys a reviewer needs to turn the pre-ticked set into
the true one: a shown tag's key, else `/` plus the characters the autocomplete
needs plus Enter (`search_keys`), and Enter to submit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

NUMBER_KEYS = "123456789"
# 0 is "no tags apply", s skip, u undo; the rest of the alphabet is free.
LETTER_KEYS = "abcdefghijklmnopqrtvwxyz"
ALL_KEYS = NUMBER_KEYS + LETTER_KEYS
DEFAULT_PRECISION = 0.9
# Below this a tick costs more keys on average than it saves (see above).
KEY_OPTIMAL_BAR = 0.5
# Undecided candidates below the model's own selection shown per facet, and the
# lowest score worth showing; the rest are reachable through the search.
RUNNERS_UP_PER_FACET = 2
RUNNER_UP_MIN_SCORE = 0.15
# The new layout shows more runners-up (a right tag among them takes one key,
# where the search takes four or five), as long as every shown row keeps a key:
# the lowest-scoring runners-up give way first.
NEW_RUNNERS_UP_PER_FACET = 4
NEW_RUNNER_UP_MIN_SCORE = 0.0


# Which of a product's scores are stored as suggestions (training.services.scoring,
# replayed by the bench): every score at least STORED_MIN_SCORE, every selected
# tag, and each facet's best STORED_PER_FACET whatever their scores, so the page
# can offer a facet's likeliest tags under keys even when a young model's
# calibrated scores are all low; of those low ones, the best STORED_LOW_MAX per
# product (the page has len(ALL_KEYS) keys), so a taxonomy of many facets does
# not multiply the rows.
STORED_MIN_SCORE = 0.05
STORED_PER_FACET = NEW_RUNNERS_UP_PER_FACET + 1
STORED_LOW_MAX = 40


def stored(facets: Sequence[str], scores: Sequence[float], selected: Sequence[bool]) -> list[bool]:
    """Per score of one product (facets[i], scores[i], selected[i]): whether it is
    stored. The product's best score always is."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    seen: dict[str, int] = {}
    low = 0
    keep = [False] * len(scores)
    for rank, i in enumerate(order):
        seen[facets[i]] = seen.get(facets[i], 0) + 1
        if rank == 0 or scores[i] >= STORED_MIN_SCORE or selected[i]:
            keep[i] = True
        elif seen[facets[i]] <= STORED_PER_FACET and low < STORED_LOW_MAX:
            keep[i] = True
            low += 1
    return keep


class Policy(StrEnum):
    OLD = "old"
    NEW = "new"


class Reason(StrEnum):
    """Why a row is ticked, in words the page can show."""

    APPROVED = "approved"  # a person approved it before
    ABOVE_BAR = "above_bar"  # its calibrated score clears the precision target
    NAMED = "named"  # its name or an alias is written in the text
    SELECTED = "selected"  # the model selected it (the old rule)


@dataclass(frozen=True)
class Candidate:
    """One tag the page could show for a product."""

    tag: str  # the tag's key ("facet:value") or any stable id
    facet: str
    single_valued: bool
    score: float | None  # None: not scored (e.g. added by a person)
    selected: bool = False  # the model's own decision (at or above its threshold)
    threshold: float | None = None
    named: bool = False  # its name or an alias occurs in the product text
    state: str | None = None  # "approved", "rejected" or None (undecided)


@dataclass(frozen=True)
class Row:
    candidate: Candidate
    ticked: bool
    reason: Reason | None
    key: str | None


def shared_forms(names: Iterable[str]) -> set[str]:
    """The names (casefolded) that more than one tag of the taxonomy carries."""
    seen: set[str] = set()
    shared: set[str] = set()
    for name in names:
        form = name.casefold().strip()
        (shared if form in seen else seen).add(form)
    return shared


def inside_longer(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    """Whether the span lies inside a longer one of `others`: "Blue" inside
    "Navy Blue", 白 inside 白鸭绒. It is part of that longer name, not a name of
    its own."""
    start, end = span
    return any(s <= start and end <= e and e - s > end - start for s, e in others)


def names_tag(
    text: str,
    spans: Iterable[tuple[int, int]],
    shared: set[str],
    others: Iterable[tuple[int, int]] = (),
) -> bool:
    """Whether the name matches `spans` of `text` name the tag unambiguously: a
    match that is also another tag's name ("女" for both 适用性别 and 适用对象)
    does not say which tag is meant, and one inside a longer match of another
    tag (`others`: every tag's matches) is part of that name ("Blue" in "Navy
    Blue", 白 "white" in a Down alias 白鸭绒 "white duck down")."""
    longer = [(s, e) for s, e in others if e > s]
    return any(
        end > start
        and text[start:end].casefold() not in shared
        and not inside_longer((start, end), longer)
        for start, end in spans
    )


def _likely(candidate: Candidate, zero_shot: bool, bar: float) -> Reason | None:
    """Whether one undecided candidate may be ticked under the new rule, the
    facet's other candidates aside."""
    if candidate.score is None:
        return None
    if zero_shot:
        return Reason.NAMED if candidate.named else None
    threshold = candidate.threshold if candidate.threshold is not None else 0.5
    return Reason.ABOVE_BAR if candidate.score >= max(threshold, bar) else None


def empty_chance(scores: Iterable[float]) -> float:
    """A single-valued facet's calibrated chance of having no right tag at all:
    1 - the sum of its candidates' scores (0 when they sum past 1). Ticking its
    best candidate, of score p, costs a key when the facet is empty and saves
    one when the candidate is right (a wrong one is replaced by the right one's
    key either way), so it pays from p above this chance: well under 0.5."""
    return max(0.0, 1.0 - sum(scores))


def bar_pool(rows: Iterable[tuple[object, str, bool, float]]) -> list[float]:
    """The scores the new rule could tick, from (product, facet, single-valued,
    calibrated score) rows of many products: each product's best score in each
    single-valued facet where it beats the facet's empty_chance, every
    multi-valued score from KEY_OPTIMAL_BAR up."""
    best: dict[tuple[object, str], float] = {}
    total: dict[tuple[object, str], float] = {}
    pool: list[float] = []
    for product, facet, single_valued, score in rows:
        if single_valued:
            key = (product, facet)
            best[key] = max(best.get(key, 0.0), score)
            total[key] = total.get(key, 0.0) + score
        elif score >= KEY_OPTIMAL_BAR:
            pool.append(score)
    return pool + [b for key, b in best.items() if b > max(0.0, 1.0 - total[key])]


def precision_bar(pool: Iterable[float], precision: float) -> float:
    """The lowest bar at which the pool's scores at or above it have a mean,
    their expected precision when the scores are calibrated, of at least
    `precision`; `precision` itself for an empty pool, and above every score
    (nothing ticked) when even the best miss it. The layout applies the key
    floors on top (KEY_OPTIMAL_BAR, a single-valued facet's empty_chance)."""
    scores = sorted(pool, reverse=True)
    if not scores:
        return precision
    bar, total = 1.0 + 1e-9, 0.0
    for n, score in enumerate(scores, start=1):
        total += score
        if total / n >= precision:
            bar = score
    return bar


def _order(candidates: Iterable[Candidate], facet_order: Sequence[str] | None) -> list[Candidate]:
    items = list(candidates)
    facets = list(dict.fromkeys(facet_order or sorted({c.facet for c in items})))
    for c in items:
        if c.facet not in facets:
            facets.append(c.facet)
    rank = {f: i for i, f in enumerate(facets)}
    return sorted(
        items, key=lambda c: (rank[c.facet], c.score is None, -(c.score or 0.0), c.tag.casefold())
    )


def _ticks(
    items: Sequence[Candidate], policy: Policy, zero_shot: bool, bar: float
) -> list[Reason | None]:
    """Per candidate of one facet (best score first), why it is ticked (None: not)."""
    if items and items[0].single_valued:
        open_scores = [c.score for c in items if c.score is not None and c.state is None]
        bar = max(bar, empty_chance(open_scores))
    else:
        bar = max(bar, KEY_OPTIMAL_BAR)
    reasons: list[Reason | None] = []
    for c in items:
        if c.state == "approved":
            reasons.append(Reason.APPROVED)
        elif c.state is not None:
            reasons.append(None)
        elif policy is Policy.OLD:
            reasons.append(Reason.SELECTED if c.selected else None)
        else:
            reasons.append(_likely(c, zero_shot, bar))
    if policy is Policy.NEW and items and items[0].single_valued:
        # One at most: a person's approval wins, else the best candidate that clears.
        keep = next((i for i, r in enumerate(reasons) if r is Reason.APPROVED), None)
        if keep is None:
            keep = next((i for i, r in enumerate(reasons) if r is not None), None)
        reasons = [r if i == keep else None for i, r in enumerate(reasons)]
    return reasons


def _shown(
    items: Sequence[Candidate], reasons: Sequence[Reason | None], policy: Policy
) -> list[bool | float]:
    """Per candidate of one facet: True for every ticked, selected or decided
    one; a runner-up's score for the best few runners-up (shown while there are
    keys for them); False for the rest."""
    per_facet, min_score = (
        (RUNNERS_UP_PER_FACET, RUNNER_UP_MIN_SCORE)
        if policy is Policy.OLD
        else (NEW_RUNNERS_UP_PER_FACET, NEW_RUNNER_UP_MIN_SCORE)
    )
    shown: list[bool | float] = []
    runners_up = 0
    for c, reason in zip(items, reasons, strict=True):
        if reason is not None or c.selected or c.state is not None:
            shown.append(True)
        elif runners_up < per_facet and c.score is not None and c.score >= min_score:
            shown.append(c.score)
            runners_up += 1
        else:
            shown.append(False)
    return shown


def _fit_to_keys(shown: list[list[bool | float]], keys: int) -> None:
    """Hide the lowest-scoring runners-up until every shown row has a key (rows
    that must show stay, even beyond the keys)."""
    must = sum(v is True for facet in shown for v in facet)
    runners = sorted(
        ((v, f, i) for f, facet in enumerate(shown) for i, v in enumerate(facet)
         if v is not True and v is not False),
        key=lambda t: -float(t[0]),
    )  # fmt: skip
    room = max(keys - must, 0)
    for _, f, i in runners[room:]:
        shown[f][i] = False


def layout(
    candidates: Iterable[Candidate],
    policy: Policy = Policy.NEW,
    precision: float = DEFAULT_PRECISION,
    zero_shot: bool = False,
    facet_order: Sequence[str] | None = None,
    bar: float | None = None,
) -> tuple[list[Row], int]:
    """(the rows the page shows, in page order, with tick, reason and key; how many
    candidates were left off). Facets come in `facet_order` (default: by name),
    tags inside a facet by score, best first. `bar`: the new rule's bar for a
    trained model's calibrated scores (precision_bar over the version's scored
    products); None: `precision` itself."""
    ordered = _order(candidates, facet_order)
    facets: list[list[Candidate]] = []
    for c in ordered:
        if not facets or facets[-1][0].facet != c.facet:
            facets.append([])
        facets[-1].append(c)
    bar = precision if bar is None else bar
    reasons = [_ticks(items, policy, zero_shot, bar) for items in facets]
    keys = NUMBER_KEYS if policy is Policy.OLD else ALL_KEYS
    shown = [_shown(items, r, policy) for items, r in zip(facets, reasons, strict=True)]
    if policy is Policy.NEW:
        _fit_to_keys(shown, len(keys))
    rows: list[Row] = []
    hidden = 0
    for items, facet_reasons, facet_shown in zip(facets, reasons, shown, strict=True):
        for c, reason, visible in zip(items, facet_reasons, facet_shown, strict=True):
            if visible is not False:
                rows.append(Row(c, reason is not None, reason, None))
            else:
                hidden += 1
    return _keyed(rows, keys, policy), hidden


def _keyed(rows: list[Row], keys: str, policy: Policy) -> list[Row]:
    """Keys in page order; when the new layout has more rows than keys (many
    tags decided before), the undecided rows, which need the reviewer's eye,
    get keys first."""
    order = list(range(len(rows)))
    if policy is Policy.NEW and len(rows) > len(keys):
        order.sort(key=lambda i: rows[i].candidate.state is not None)
    key_of = {i: keys[n] for n, i in enumerate(order[: len(keys)])}
    return [replace(r, key=key_of.get(i)) for i, r in enumerate(rows)]


# -- the keys a review takes ---------------------------------------------------------


def _toggle_cost(position: int, rows: Sequence[Row]) -> int:
    """Keys to toggle the shown row at `position`: its key, else `/`, Shift+Tab
    back from the search box to it, and Space."""
    if rows[position].key is not None:
        return 1
    return 1 + (len(rows) - position) + 1


def review_keys(
    rows: Sequence[Row], truth: Iterable[str], search_keys: Callable[[str], int]
) -> int:
    """Keys to submit exactly `truth` from the shown rows: a toggle per wrong tick
    and per missing true tag (ticking a tag of a single-valued facet unticks its
    sibling, as the page does), `search_keys(tag)` for a true tag not shown, and
    Enter. search_keys counts `/`, the characters typed and Enter."""
    truth = set(truth)
    position = {r.candidate.tag: i for i, r in enumerate(rows)}
    ticked = {r.candidate.tag for r in rows if r.ticked}
    single = {r.candidate.facet for r in rows if r.candidate.single_valued}
    keys = 1  # Enter
    released: set[str] = set()
    for tag in sorted(truth - ticked):
        i = position.get(tag)
        cost = search_keys(tag)
        if i is not None:
            cost = min(cost, _toggle_cost(i, rows))
            facet = rows[i].candidate.facet
            if facet in single:
                released |= {
                    r.candidate.tag for r in rows if r.ticked and r.candidate.facet == facet
                }
        keys += cost
    for tag in sorted(ticked - truth - released):
        keys += _toggle_cost(position[tag], rows)
    return keys


def corrections(rows: Sequence[Row], truth: Iterable[str]) -> int:
    """Tags whose pre-ticked state differs from the truth."""
    ticked = {r.candidate.tag for r in rows if r.ticked}
    return len(ticked ^ set(truth))


# -- the autocomplete's key cost -------------------------------------------------------


def _rank(name: str, query: str) -> int | None:
    """tagsearch.js rankNames on one name: exact, prefix, word prefix, substring."""
    if name == query:
        return 0
    if name.startswith(query):
        return 1
    if f" {query}" in name or f"-{query}" in name:
        return 2
    if query in name:
        return 3
    return None


def search_costs(tags: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Per tag (key, name), the keys to add it through the search box: `/`, the
    shortest prefix of its name that makes it the first hit (ranked as
    tagsearch.js ranks names: rank, then shorter name, then key), and Enter; when
    no prefix does, the whole name plus an ArrowDown per tag ahead of it."""
    folded = [(key, name.casefold().strip()) for key, name in tags]
    costs: dict[str, int] = {}
    for key, name in folded:
        best: int | None = None
        for length in range(1, len(name) + 1):
            query = name[:length].strip()
            if not query:
                continue
            ahead = 0
            own = _rank(name, query)
            for other_key, other in folded:
                if other_key == key:
                    continue
                rank = _rank(other, query)
                if rank is None or own is None:
                    continue
                if (rank, len(other), other_key) < (own, len(name), key):
                    ahead += 1
                    if length < len(name):
                        break
            if ahead == 0:
                best = length
                break
            if length == len(name):
                best = length + ahead
        costs[key] = 1 + (best if best is not None else len(name)) + 1
    return costs

"""The review page's pre-tick and key rules on plain data (training.ml.review_policy)."""

from training.ml.review_policy import (
    Candidate,
    Policy,
    Reason,
    corrections,
    layout,
    review_keys,
    search_costs,
)


def cand(tag: str, score: float | None, **kw: object) -> Candidate:
    facet = tag.split(":")[0]
    defaults: dict = {"facet": facet, "single_valued": False, "threshold": 0.5}
    defaults.update(kw)
    selected = defaults.pop("selected", score is not None and score >= defaults["threshold"])
    return Candidate(tag=tag, score=score, selected=selected, **defaults)


def ticked(rows) -> set[str]:  # type: ignore[no-untyped-def]  # rows: list[Row]
    return {r.candidate.tag for r in rows if r.ticked}


def test_old_policy_ticks_every_selected_tag() -> None:
    rows, _ = layout([cand("color:red", 0.6), cand("color:blue", 0.3)], Policy.OLD)

    assert ticked(rows) == {"color:red"}
    assert rows[0].reason is Reason.SELECTED


def test_new_policy_ticks_only_scores_above_the_precision_bar() -> None:
    rows, _ = layout(
        [cand("material:cotton", 0.95), cand("material:wool", 0.7)], Policy.NEW, precision=0.9
    )

    assert ticked(rows) == {"material:cotton"}
    assert [r.reason for r in rows] == [Reason.ABOVE_BAR, None]
    # The selected but unsure tag is still shown, unticked, below the ticked one.
    assert [r.candidate.tag for r in rows] == ["material:cotton", "material:wool"]


def test_the_ticked_set_keeps_its_expected_precision() -> None:
    sure = [cand("a:x", 0.99), cand("b:x", 0.98), cand("c:x", 0.75)]

    rows, _ = layout(sure, Policy.NEW, precision=0.9)
    assert ticked(rows) == {"a:x", "b:x", "c:x"}  # mean 0.907

    rows, _ = layout([*sure, cand("d:x", 0.6)], Policy.NEW, precision=0.9)
    assert ticked(rows) == {"a:x", "b:x", "c:x"}  # with d the mean would be 0.83


def test_a_tags_own_threshold_still_counts() -> None:
    rows, _ = layout([cand("material:silk", 0.93, threshold=0.95)], Policy.NEW, precision=0.9)

    assert ticked(rows) == set()


def test_a_single_valued_facet_may_stay_empty() -> None:
    candidates = [
        cand("category:pants", 0.6, single_valued=True, selected=True),
        cand("category:bags", 0.2, single_valued=True, selected=False),
    ]

    old, _ = layout(candidates, Policy.OLD)
    new, _ = layout(candidates, Policy.NEW, precision=0.9)

    assert ticked(old) == {"category:pants"}
    assert ticked(new) == set()
    assert len(new) == 2  # both still shown, best first


def test_a_single_valued_facet_ticks_at_most_one() -> None:
    candidates = [
        cand("category:bags", 0.97, single_valued=True),
        cand("category:backpacks", 0.95, single_valued=True),
    ]

    rows, _ = layout(candidates, Policy.NEW, precision=0.9)

    assert ticked(rows) == {"category:bags"}


def test_zero_shot_ticks_only_tags_named_in_the_text() -> None:
    candidates = [cand("color:red", 0.8, named=True), cand("material:ceramic", 0.9)]

    rows, _ = layout(candidates, Policy.NEW, zero_shot=True)

    assert ticked(rows) == {"color:red"}
    assert {r.candidate.tag: r.reason for r in rows}["color:red"] is Reason.NAMED


def test_decisions_of_people_win() -> None:
    candidates = [
        cand("color:red", 0.99, state="rejected"),
        cand("material:wool", None, state="approved"),
    ]

    rows, _ = layout(candidates, Policy.NEW)

    assert ticked(rows) == {"material:wool"}
    assert {r.candidate.tag: r.reason for r in rows}["material:wool"] is Reason.APPROVED


def test_every_shown_tag_gets_a_key_in_the_new_layout() -> None:
    candidates = [cand(f"f{i:02d}:t", 0.95) for i in range(14)]

    old, _ = layout(candidates, Policy.OLD)
    new, _ = layout(candidates, Policy.NEW)

    assert [r.key for r in old][8:] == ["9", None, None, None, None, None]
    assert [r.key for r in new] == [*"123456789", "a", "b", "c", "d", "e"]
    assert "s" not in [r.key for r in layout([cand(f"f{i:02d}:t", 0.95) for i in range(33)])[0]]


def test_low_scores_stay_off_the_page() -> None:
    candidates = [
        cand("color:red", 0.6),
        cand("color:blue", 0.4),
        cand("color:green", 0.3),
        cand("color:pink", 0.2),
        cand("color:navy", 0.1),
    ]

    rows, hidden = layout(candidates, Policy.NEW)

    assert [r.candidate.tag for r in rows] == ["color:red", "color:blue", "color:green"]
    assert hidden == 2


def test_a_right_pre_tick_takes_one_key() -> None:
    rows, _ = layout([cand("color:red", 0.95), cand("color:blue", 0.3)], Policy.NEW)

    assert review_keys(rows, {"color:red"}, lambda tag: 10) == 1
    assert corrections(rows, {"color:red"}) == 0


def test_keys_count_toggles_searches_and_enter() -> None:
    rows, _ = layout([cand("color:red", 0.95), cand("material:wool", 0.3)], Policy.NEW)

    # untick red (1), tick wool (1), search silk (7), Enter (1)
    keys = review_keys(rows, {"material:wool", "material:silk"}, lambda tag: 7)

    assert keys == 10
    assert corrections(rows, {"material:wool", "material:silk"}) == 3


def test_ticking_in_a_single_valued_facet_replaces_the_wrong_tick() -> None:
    candidates = [
        cand("category:pants", 0.95, single_valued=True),
        cand("category:bags", 0.3, single_valued=True),
    ]
    rows, _ = layout(candidates, Policy.NEW)

    assert review_keys(rows, {"category:bags"}, lambda tag: 10) == 2


def test_an_unkeyed_row_costs_the_way_back_to_it() -> None:
    candidates = [cand(f"f{i:02d}:t", 0.95) for i in range(12)]
    rows, _ = layout(candidates, Policy.OLD)
    truth = {r.candidate.tag for r in rows} - {rows[10].candidate.tag}

    # `/`, Shift+Tab from the search box back to row 11 of 12 (2), Space; Enter.
    assert review_keys(rows, truth, lambda tag: 99) == 1 + 2 + 1 + 1


def test_search_costs_follow_the_autocomplete_ranking() -> None:
    costs = search_costs([("color:Blue", "Blue"), ("color:Black", "Black"), ("fit:Slim", "Slim")])

    assert costs["fit:Slim"] == 1 + 1 + 1  # "/", "s", Enter
    assert costs["color:Blue"] == 1 + 1 + 1  # "b" puts Blue (the shorter name) first
    assert costs["color:Black"] == 1 + 3 + 1  # "bla"

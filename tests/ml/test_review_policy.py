"""The review page's pre-tick and key rules on plain data (training.ml.review_policy)."""

from training.ml.review_policy import (
    STORED_LOW_MAX,
    STORED_PER_FACET,
    Candidate,
    Policy,
    Reason,
    bar_pool,
    corrections,
    layout,
    names_tag,
    precision_bar,
    review_keys,
    search_costs,
    stored,
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


def test_the_bar_is_the_lowest_whose_ticks_keep_the_expected_precision() -> None:
    # Means best first: 0.99, 0.97, 0.94, 0.9025 (with 0.79), 0.842 (with 0.6).
    pool = [0.99, 0.95, 0.88, 0.79, 0.6, 0.3]

    assert precision_bar(pool, 0.9) == 0.79
    assert precision_bar(pool, 0.95) == 0.95
    # Nothing reaches it: a bar above every score; no pool: the target itself.
    assert precision_bar([0.7, 0.6], 0.9) > 1.0
    assert precision_bar([], 0.9) == 0.9
    # A low target lets the whole pool in (the layout's key floors still apply).
    assert precision_bar(pool, 0.5) == 0.3


def test_the_pool_holds_one_score_per_single_valued_facet_and_product() -> None:
    rows = [
        (1, "color", True, 0.9),
        (1, "color", True, 0.7),  # the facet's runner-up: never ticked
        (2, "color", True, 0.8),
        (1, "material", False, 0.6),
        (1, "material", False, 0.55),
        (1, "material", False, 0.2),  # under 0.5: never ticked
        (3, "size", True, 0.3),  # under its facet's empty chance (0.7): never ticked
    ]

    assert sorted(bar_pool(rows)) == [0.55, 0.6, 0.8, 0.9]


def test_a_trained_model_ticks_what_clears_the_versions_bar() -> None:
    candidates = [cand("a:x", 0.99), cand("b:x", 0.8), cand("c:x", 0.7), cand("d:x", 0.45)]

    rows, _ = layout(candidates, Policy.NEW, precision=0.9, bar=0.75)
    assert ticked(rows) == {"a:x", "b:x"}
    assert {r.candidate.tag: r.reason for r in rows}["b:x"] is Reason.ABOVE_BAR

    # A multi-valued tag's bar never drops under 0.5, where a tick costs more
    # keys than it saves.
    rows, _ = layout(candidates, Policy.NEW, precision=0.9, bar=0.2)
    assert ticked(rows) == {"a:x", "b:x", "c:x"}

    # Without a version's bar, the target itself.
    rows, _ = layout(candidates, Policy.NEW, precision=0.9)
    assert ticked(rows) == {"a:x"}


def test_a_single_valued_facets_best_is_ticked_unless_the_facet_is_likely_empty() -> None:
    def sizes(*scores: float) -> list[Candidate]:
        return [
            cand(f"size:{i}", p, single_valued=True, threshold=0.1) for i, p in enumerate(scores)
        ]

    # 0.4 under 0.5, but the facet is surely filled (its scores sum to 1): a tick
    # costs nothing when wrong (the right size's key replaces it) and saves one.
    rows, _ = layout(sizes(0.4, 0.35, 0.25), Policy.NEW, precision=0.9, bar=0.2)
    assert ticked(rows) == {"size:0"}
    # The same best when the facet is more likely empty (1 - 0.5 = 0.5 > 0.4).
    rows, _ = layout(sizes(0.4, 0.1), Policy.NEW, precision=0.9, bar=0.2)
    assert ticked(rows) == set()


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


def test_the_new_layout_shows_more_runners_up_while_keys_last() -> None:
    candidates = [
        cand("color:red", 0.6),
        cand("color:blue", 0.4),
        cand("color:green", 0.3),
        cand("color:pink", 0.2),
        cand("color:navy", 0.1),
        cand("color:teal", 0.01),
    ]

    old, old_hidden = layout(candidates, Policy.OLD)
    new, new_hidden = layout(candidates, Policy.NEW)

    # Old: two runners-up scoring at least 0.15. New: four, whatever their scores.
    assert [r.candidate.tag for r in old] == ["color:red", "color:blue", "color:green"]
    assert old_hidden == 3
    assert [r.candidate.tag for r in new][-1] == "color:navy"
    assert new_hidden == 1


def test_runners_up_give_way_so_that_every_shown_row_has_a_key() -> None:
    # 20 facets: one sure tag and four runners-up each (100 candidates, 33 keys).
    candidates = [
        cand(f"f{f:02d}:{v}", score)
        for f in range(20)
        for v, score in [("a", 0.95), ("b", 0.3 - f / 100), ("c", 0.05), ("d", 0.04), ("e", 0.03)]
    ]

    rows, hidden = layout(candidates, Policy.NEW)

    assert len(rows) == 33
    assert hidden == 67
    assert all(r.key is not None for r in rows)
    # The best runners-up stay: the "b" of the first 13 facets.
    assert {r.candidate.tag for r in rows if not r.ticked} == {f"f{f:02d}:b" for f in range(13)}


def test_undecided_rows_get_keys_before_decided_ones() -> None:
    decided = [cand(f"a{i:02d}:t", None, state="approved") for i in range(40)]
    rows, _ = layout([*decided, cand("z:new", 0.95)], Policy.NEW)

    assert {r.candidate.tag: r.key for r in rows}["z:new"] == "1"
    assert sum(r.key is None for r in rows) == len(rows) - 33


def test_a_name_inside_a_longer_name_is_not_evidence() -> None:
    text = "Navy Blue shirt, blue buttons"
    navy_blue, blue_in_it, blue_alone = (0, 9), (5, 9), (17, 21)

    assert names_tag(text, [navy_blue], set(), [navy_blue, blue_in_it])
    assert not names_tag(text, [blue_in_it], set(), [navy_blue, blue_in_it])
    assert names_tag(text, [blue_in_it, blue_alone], set(), [navy_blue, blue_in_it, blue_alone])


def test_a_chinese_name_inside_a_longer_alias_of_another_tag_is_not_evidence() -> None:
    text = "搭配白鸭绒填充 颜色：藏青色"
    white, down = [(2, 3)], [(2, 5)]
    assert text[2:3] == "白"
    assert text[2:5] == "白鸭绒"

    assert not names_tag(text, white, set(), white + down)
    assert names_tag(text, down, set(), white + down)


def test_each_facets_best_scores_are_stored_whatever_they_are() -> None:
    facets = ["color"] * 7 + ["size"]
    scores = [0.04, 0.03, 0.02, 0.01, 0.009, 0.008, 0.2, 0.001]
    selected = [False] * 8

    keep = stored(facets, scores, selected)

    # color: 0.2 and the next STORED_PER_FACET - 1 best; size: its only score.
    assert sum(keep[:7]) == STORED_PER_FACET
    assert keep[6]
    assert not keep[5]
    assert keep[7]
    assert stored(["a", "a"], [0.9, 0.01], [False, False]) == [True, STORED_PER_FACET > 1]
    # Many facets: at most STORED_LOW_MAX low scores per product, the best ones.
    many = [f"f{i}" for i in range(100)]
    low = [0.04 - i / 10_000 for i in range(100)]
    keep = stored(many, low, [False] * 100)
    assert sum(keep) == 1 + STORED_LOW_MAX  # the best score always, then the cap
    assert keep[: 1 + STORED_LOW_MAX] == [True] * (1 + STORED_LOW_MAX)


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

import numpy as np

from training.ml.names import NameVote, tune_name_blend
from training.ml.types import TagSpec


def _vote() -> NameVote:
    keys = ["color:Brown", "color:Coffee Brown", "type:T-shirt", "功效:补水"]
    tags = [TagSpec.from_key(k, single_valued=k.startswith("color")) for k in keys]
    return NameVote.from_tags(tags, [[0, 1]])


def test_the_longest_name_of_a_facet_wins_the_vote() -> None:
    matches = _vote().matrix(["Jockey Women Coffee Brown T-shirt", "Brown leather belt"])

    assert matches.tolist() == [[0, 1, 1, 0], [1, 0, 0, 0]]


def test_names_match_whole_words_in_latin_text_and_substrings_in_chinese() -> None:
    matches = _vote().matrix(["Brownie tshirt", "深层补水面膜"])

    assert matches.tolist() == [[0, 0, 0, 0], [0, 0, 0, 1]]


def test_a_saved_vote_matches_the_same() -> None:
    vote = _vote()

    again = NameVote.from_state(vote.state())

    text = ["Coffee Brown T-shirt 补水"]
    assert (again.matrix(text) == vote.matrix(text)).all()


def test_the_vote_gets_weight_where_it_raises_macro_f1_at_no_accuracy_cost() -> None:
    # given: a facet whose rare tag 1 is named in its texts but scored low
    proba = np.array([[0.9, 0.1]] * 8 + [[0.6, 0.4]] * 2, dtype=np.float32)
    names = np.array([[1, 0]] * 8 + [[0, 1]] * 2, dtype=np.float32)
    Y = np.array([[1, 0]] * 8 + [[0, 1]] * 2, dtype=bool)

    weights = tune_name_blend(proba, names, Y, [[0, 1]])

    assert weights[0] == weights[1] > 0.0

from pathlib import Path

import numpy as np
import pytest

from training.ml.model import TaggerModel
from training.ml.types import TagSpec
from training.ml.zero_shot import build_zero_shot

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TAGS = [
    TagSpec("color:Navy Blue", "color", "Navy Blue", aliases=("navy",), single_valued=True),
    TagSpec("color:Red", "color", "Red", single_valued=True),
    TagSpec("material:Silk", "material", "Silk", aliases=("真丝",)),
    TagSpec("material:Wool", "material", "Wool"),
    TagSpec("type:Dress", "type", "Dress"),
]


def test_it_ranks_the_named_tag_first_and_points_at_the_alias(tiny_bert: str) -> None:
    model = build_zero_shot(TAGS, base_model=tiny_bert)
    text = "classic navy jacket for men"

    predictions = model.predict([text], min_score=0.0)[0]

    colors = [p for p in predictions if p.tag.startswith("color:")]
    assert colors[0].tag == "color:Navy Blue"
    assert colors[0].selected
    assert [text[s:e] for s, e in colors[0].evidence] == ["navy"]
    assert not colors[1].selected


def test_a_chinese_alias_matches_inside_running_text(tiny_bert: str) -> None:
    model = build_zero_shot(TAGS, base_model=tiny_bert)
    text = "夏季真丝连衣裙"

    predictions = {p.tag: p for p in model.predict([text], min_score=0.0)[0]}

    assert [text[s:e] for s, e in predictions["material:Silk"].evidence] == ["真丝"]
    assert predictions["material:Silk"].score > predictions["material:Wool"].score


def test_a_latin_name_needs_word_boundaries(tiny_bert: str) -> None:
    model = build_zero_shot(TAGS, base_model=tiny_bert)

    predictions = {p.tag: p for p in model.predict(["reddish woolen dress"], min_score=0.0)[0]}

    assert predictions["color:Red"].evidence == []
    assert predictions["material:Wool"].evidence == []
    assert predictions["type:Dress"].evidence == [(15, 20)]


def test_scores_are_probabilities(tiny_bert: str) -> None:
    model = build_zero_shot(TAGS, base_model=tiny_bert)

    proba = model.predict_proba(["red silk dress", "", "wool"])

    assert proba.shape == (3, len(TAGS))
    assert proba.dtype == np.float32
    assert ((proba >= 0) & (proba <= 1)).all()


def test_a_zero_shot_model_saves_and_loads(tiny_bert: str, tmp_path: Path) -> None:
    model = build_zero_shot(TAGS, base_model=tiny_bert)
    texts = ["red silk dress", "navy wool"]

    model.save(tmp_path / "zs")
    loaded = TaggerModel.load(tmp_path / "zs")

    assert loaded.mode == "zero_shot"
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))

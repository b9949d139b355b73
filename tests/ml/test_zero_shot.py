from pathlib import Path

import numpy as np
import pytest

from tests.ml.conftest import install_as_multilingual
from training.ml.encoder import minilm_base_model
from training.ml.model import TaggerModel, build_zero_shot
from training.ml.types import TagSpec
from training.ml.zero_shot import (
    DEFAULT_CALIBRATION,
    LEGACY_CALIBRATION,
    MATCH_FLOOR,
    MAX_PER_FACET,
    MULTILINGUAL_SPREAD,
    SPREAD,
    THRESHOLD,
    default_calibration,
)

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


MANY_TAGS = [
    TagSpec.from_key(f"{facet}:{name.title()}", aliases=aliases.get(name, ()))
    for facet, names in {
        "color": ["red", "blue", "green", "black", "white", "navy"],
        "material": ["cotton", "silk", "wool", "denim"],
        "type": ["shirt", "dress", "skirt", "jacket", "jeans", "shoes", "watch", "bag"],
        "style": ["casual", "formal", "summer", "winter", "slim", "printed", "striped", "solid"],
    }.items()
    for name in names
    for aliases in [{"silk": ("真丝",)}]
]


def test_text_the_encoder_cannot_read_selects_only_name_matches(tiny_bert: str) -> None:
    # Issue #17: MiniLM reads most Chinese as [UNK]; the embeddings of such texts
    # (and of the Chinese alias prompts) are all alike, and similarity selected
    # tags that nothing in the text names.
    model = build_zero_shot(MANY_TAGS, base_model=tiny_bert)

    named, unnamed = model.predict(["夏季真丝连衣裙 韩版", "新款 女装 连衣裙 夏"], min_score=0.0)

    assert [p.tag for p in named if p.selected] == ["material:Silk"]
    assert [p.tag for p in unnamed if p.selected] == []
    assert unnamed[0].score > 0.0  # still ranked, for the review queue


class SimilarityScorer:
    """Zero-shot-like scores: a facet where similarity alone passes the threshold
    for five tags, and two more tags named in the text (scored above the match
    floor)."""

    mode = "zero_shot"
    max_per_facet = MAX_PER_FACET
    cap_exempt_from = MATCH_FLOOR

    def score(self, texts: list[str], progress: object = None) -> tuple[np.ndarray, None]:
        row = [0.62, 0.61, 0.6, 0.58, 0.55, 0.9, 0.85, 0.3]
        return np.array([row] * len(texts), dtype=np.float32), None


def test_similarity_alone_selects_at_most_max_per_facet_tags_of_a_facet() -> None:
    # Issue #17: with nothing tuned, zero-shot selected 25.5 tags per product on
    # OpenBG (true: 5.4); similarity now selects at most MAX_PER_FACET per facet
    tags = [TagSpec.from_key(f"style:{n}") for n in "ABCDEFGH"]
    model = TaggerModel("zero_shot", "none", tags, np.full(8, THRESHOLD), SimilarityScorer())

    predictions = model.predict(["anything"], min_score=0.0)[0]

    # then: the two named tags, and the two best of the five similar ones
    assert sorted(p.tag for p in predictions if p.selected) == [
        "style:A", "style:B", "style:F", "style:G"
    ]  # fmt: skip


def test_a_zero_shot_model_caps_similarity_but_never_a_name_match(tiny_bert: str) -> None:
    model = build_zero_shot(MANY_TAGS, base_model=tiny_bert)

    predictions = model.predict(["red blue green black cotton shirt"], min_score=0.0)[0]

    assert (model.max_per_facet, model.cap_exempt_from) == (MAX_PER_FACET, MATCH_FLOOR)
    colors = {p.tag for p in predictions if p.tag.startswith("color:") and p.selected}
    assert colors == {"color:Red", "color:Blue", "color:Green", "color:Black"}


def test_labels_say_which_facets_are_single_valued(tiny_bert: str) -> None:
    # given: a taxonomy that flags nothing single-valued, and labelled products that
    # never carry two colours (but do carry two styles)
    labels = [["color:Red", "style:Casual", "style:Slim"], ["color:Blue"]] * 6

    model = build_zero_shot(MANY_TAGS, base_model=tiny_bert, labels=labels)

    single = {t.facet for t in model.tags if t.single_valued}
    assert single == {"color"}
    predictions = model.predict(["red blue cotton shirt"], min_score=0.0)[0]
    assert len([p for p in predictions if p.tag.startswith("color:") and p.selected]) == 1


def test_the_legacy_rules_stay_available_for_comparison(tiny_bert: str) -> None:
    model = build_zero_shot(MANY_TAGS, base_model=tiny_bert, calibration=LEGACY_CALIBRATION)

    predictions = model.predict(["新款 女装 连衣裙 夏"], min_score=0.0)[0]

    assert model.max_per_facet is None
    assert [p.tag for p in predictions if p.selected] == ["material:Silk"]


CHINESE_CATALOGUE = ["真丝连衣裙 红色", "藏青色羊毛大衣", "纯棉衬衫"] * 4
ENGLISH_CATALOGUE = ["red silk dress", "navy wool coat", "cotton shirt"] * 4


@pytest.fixture
def tiny_as_e5(tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tiny_bert standing in for the multilingual-e5-small build."""
    return install_as_multilingual(tiny_bert, tmp_path, monkeypatch)


def test_a_chinese_catalogue_starts_on_the_multilingual_encoder(tiny_as_e5: Path) -> None:
    model = build_zero_shot(TAGS, texts=CHINESE_CATALOGUE)

    assert model.base_model == str(tiny_as_e5)
    assert model.scorer.calibration["spread"] == MULTILINGUAL_SPREAD


def test_the_multilingual_spread_selects_fewer_tags_by_similarity(tiny_as_e5: Path) -> None:
    texts = ["silk dress in a deep winter navy", "a formal cotton jacket"]
    wide = build_zero_shot(MANY_TAGS, texts=CHINESE_CATALOGUE, calibration={"spread": SPREAD})
    narrow = build_zero_shot(MANY_TAGS, texts=CHINESE_CATALOGUE)

    assert (narrow.predict_proba(texts) < wide.predict_proba(texts)).any()
    assert (
        narrow.decide(narrow.predict_proba(texts)).sum()
        <= wide.decide(wide.predict_proba(texts)).sum()
    )


def test_an_english_catalogue_or_none_keeps_minilm_and_its_calibration(tiny_as_e5: Path) -> None:
    from training.ml.encoder import default_base_model

    assert default_base_model(ENGLISH_CATALOGUE) == minilm_base_model()
    assert default_calibration(minilm_base_model()) == DEFAULT_CALIBRATION
    assert default_calibration(str(tiny_as_e5))["spread"] == MULTILINGUAL_SPREAD
    assert DEFAULT_CALIBRATION["spread"] == SPREAD  # the module default is not changed


def test_a_given_calibration_wins_over_the_encoders_default(tiny_as_e5: Path) -> None:
    model = build_zero_shot(TAGS, texts=CHINESE_CATALOGUE, calibration=LEGACY_CALIBRATION)

    assert model.base_model == str(tiny_as_e5)
    assert model.scorer.calibration == LEGACY_CALIBRATION


def test_the_multilingual_calibration_is_saved_with_the_model(
    tiny_as_e5: Path, tmp_path: Path
) -> None:
    model = build_zero_shot(TAGS, texts=CHINESE_CATALOGUE)

    model.save(tmp_path / "zs")

    assert TaggerModel.load(tmp_path / "zs").scorer.calibration["spread"] == MULTILINGUAL_SPREAD

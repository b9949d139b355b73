"""Evidence spans (issue #17): merged when they overlap, Chinese at word
granularity, and a tag carried by the sentence embedding gets evidence too."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.ml.evidence import WHOLE_TEXT, merge_spans, occlusion_spans
from training.ml.model import TaggerModel
from training.ml.types import TagSpec


def test_overlapping_spans_are_merged_into_one() -> None:
    # 能空 / 空调 / 调统 used to come back as three overlapping highlights
    merged = merge_spans([(2, 4)], [(3, 5), (4, 6)], [(8, 9), (2, 4)])

    assert merged == [(2, 6), (8, 9)]


def test_spans_that_only_touch_stay_separate_words() -> None:
    assert merge_spans([(0, 4), (4, 8)]) == [(0, 4), (4, 8)]


def test_chinese_evidence_points_at_whole_words() -> None:
    # given: a score that rests on 变频空调 (inverter air conditioner)
    text = "格力大1匹变频空调挂机"
    start = text.index("变频空调")

    def score(variants: list[str]) -> np.ndarray:
        return np.array([[0.2 if "变频空调" not in v else 0.9] for v in variants])

    found = occlusion_spans(text, [0], np.array([0.9]), score)

    assert [text[s:e] for s, e in found[0]] == ["变频空调"]
    assert found[0] == [(start, start + 4)]


class EmbeddingDrivenScorer:
    """A tag carried by the sentence embedding: no single word moves the lexical
    channel, but re-embedding the text without "shirt" drops the score."""

    mode = "head"

    def score(self, texts: Sequence[str], progress: Any = None) -> tuple[np.ndarray, Any]:
        return np.full((len(texts), 1), 0.9, dtype=np.float32), None

    def occlusion_proba(self, state: Any, index: int, variants: list[str]) -> np.ndarray:
        return np.full((len(variants), 1), 0.9, dtype=np.float32)

    def whole_occlusion_proba(self, state: Any, index: int, variants: list[str]) -> np.ndarray:
        return np.array([[0.9 if "shirt" in v else 0.3] for v in variants], dtype=np.float32)


def _model() -> TaggerModel:
    tags = [TagSpec.from_key("category:Apparel")]
    return TaggerModel("head", "none", tags, np.array([0.5]), EmbeddingDrivenScorer())


def test_a_tag_carried_by_the_embedding_is_marked_as_from_the_whole_text() -> None:
    prediction = _model().predict(["classic cotton shirt for men"])[0][0]

    assert prediction.selected
    assert prediction.evidence == [WHOLE_TEXT]


def test_occlusion_through_the_whole_model_finds_its_words() -> None:
    text = "classic cotton shirt for men"

    prediction = _model().predict([text], whole_model_evidence=True)[0][0]

    assert [text[s:e] for s, e in prediction.evidence] == ["shirt"]

import json

import numpy as np

from training.ml.lexical import LexicalConfig, LexicalFeaturizer, char_terms, occlusion_units


def test_a_restored_featurizer_transforms_identically() -> None:
    texts = ["red silk dress", "blue silk shirt", "red wool dress", "夏季真丝连衣裙", "真丝睡衣"]
    featurizer = LexicalFeaturizer(LexicalConfig(min_df=1)).fit(texts)

    restored = LexicalFeaturizer.from_state(json.loads(json.dumps(featurizer.state())))

    before = featurizer.transform([*texts, "unseen words"]).toarray()
    after = restored.transform([*texts, "unseen words"]).toarray()
    np.testing.assert_array_equal(before, after)
    assert before.shape[1] == featurizer.n_features


def test_rows_are_l2_normalised_per_channel() -> None:
    featurizer = LexicalFeaturizer(LexicalConfig(min_df=1, char_weight=0.0)).fit(
        ["red dress", "blue dress"]
    )

    row = featurizer.transform(["red dress dress"]).toarray()[0]

    assert np.linalg.norm(row) == np.float32(1.0) or abs(np.linalg.norm(row) - 1) < 1e-6


def test_chinese_text_yields_character_ngrams() -> None:
    assert {"真", "真丝", "真丝连"} <= set(char_terms("真丝连衣裙", (1, 3)))


def test_occlusion_units_are_words_with_chinese_segmented_into_words() -> None:
    # Issue #17: fixed two-character blocks cut 连衣裙 (dress) into 连衣 / 裙.
    text = "Navy-blue 真丝连衣裙"

    assert [text[s:e] for s, e in occlusion_units(text)] == ["Navy", "blue", "真丝", "连衣裙"]


def test_chinese_occlusion_units_never_cut_across_words() -> None:
    # given: a run at an odd offset, where two-character blocks gave 匹变 / 频空 / 调
    text = "格力大1匹变频空调挂机"

    units = [text[s:e] for s, e in occlusion_units(text)]

    # then: every unit is a word of the segmentation, and the run is covered once
    assert "频空" not in units
    assert "匹变" not in units
    assert "挂机" in units
    assert any("空调" in u for u in units)
    assert "".join(units) == text


def _naive_char_channel(featurizer: LexicalFeaturizer, text: str) -> dict[int, float]:
    """The character channel of one text straight from its definition: sublinear
    tf x idf over char_terms, L2-normalised."""
    vocab, idf = featurizer.char.vocab, featurizer.char.idf
    counts: dict[int, int] = {}
    for term in char_terms(text, featurizer.config.char_ngrams):
        if term in vocab:
            counts[vocab[term]] = counts.get(vocab[term], 0) + 1
    weights = {j: (1.0 + np.log(c)) * float(idf[j]) for j, c in counts.items()}
    norm = np.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {j: w / norm for j, w in weights.items()}


def test_repeated_chunks_are_featurised_exactly_as_fresh_ones() -> None:
    # Occlusion variants: one text with each word blanked in turn, so nearly
    # every chunk repeats across the batch (and CJK runs split in two).
    text = "Navy BLUE silk dress, silk lining 夏季真丝连衣裙"
    train = [text, "blue cotton shirt", "red silk dress", "真丝睡衣 夏季"]
    featurizer = LexicalFeaturizer(LexicalConfig(min_df=1, char_ngrams=(1, 4))).fit(train)
    variants = [text[:s] + " " * (e - s) + text[e:] for s, e in occlusion_units(text)]

    X = featurizer.transform([text, *variants]).toarray()

    n_word = len(featurizer.word.vocab)
    for row, source in zip(X, [text, *variants], strict=True):
        expected = np.zeros(len(featurizer.char.vocab), dtype=np.float32)
        for j, value in _naive_char_channel(featurizer, source).items():
            expected[j] = value
        np.testing.assert_allclose(row[n_word:], expected, rtol=1e-6, atol=1e-7)

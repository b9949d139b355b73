import json

import numpy as np

from training.ml.lexical import LexicalConfig, LexicalFeaturizer, char_terms, occlusion_units


def test_a_restored_featurizer_transforms_identically() -> None:
    texts = ["red silk dress", "blue silk shirt", "red wool dress", "夏季真丝连衣裙", "真丝睡衣"]
    featurizer = LexicalFeaturizer(LexicalConfig(min_df=1)).fit(texts)

    restored = LexicalFeaturizer.from_state(json.loads(json.dumps(featurizer.state())))

    before = featurizer.transform(texts + ["unseen words"]).toarray()
    after = restored.transform(texts + ["unseen words"]).toarray()
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


def test_occlusion_units_are_words_and_cjk_bigrams() -> None:
    text = "Navy-blue 真丝连衣裙"

    assert [text[s:e] for s, e in occlusion_units(text)] == ["Navy", "blue", "真丝", "连衣", "裙"]

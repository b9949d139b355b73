import numpy as np

from tests.ml.conftest import toy_products
from training.ml.baseline import THRESHOLD, mostly_chinese, train_baseline


def test_the_baseline_learns_an_obvious_rule() -> None:
    texts, labels = toy_products(120)
    vocab = sorted({t for tags in labels for t in tags})

    baseline = train_baseline(texts, labels, vocab)
    predicted = baseline.predict(["red wool skirt"])[0]

    chosen = {vocab[j] for j in np.flatnonzero(predicted)}
    assert {"color:Red", "material:Wool", "type:Skirt"} <= chosen
    assert THRESHOLD == 0.3


def test_a_tag_on_every_product_is_always_predicted() -> None:
    texts = ["red dress", "blue dress", "red shirt"]
    labels = [["shop:All", "color:Red"], ["shop:All"], ["shop:All", "color:Red"]]

    baseline = train_baseline(texts, labels, ["color:Red", "shop:All"])

    assert baseline.predict(["anything"])[0][1]
    assert baseline.predict_proba(["anything"])[0][1] == 1.0


def test_chinese_text_is_recognised() -> None:
    assert mostly_chinese(["夏季真丝连衣裙", "男士皮鞋"])
    assert not mostly_chinese(["red dress", "blue shirt", "夏季真丝连衣裙"])

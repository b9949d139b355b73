import pytest

from training.ml.text import clean_text, detect_language, product_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a<script>alert(1)</script>b", "a b"),
        ("<p>Hi <b>there</b></p><STYLE>.x{}</STYLE>!", "Hi there !"),
        ("x <script> y", "x y"),
        ("ＡＢＣ１２３　全角", "ABC123 全角"),
        ("Tom &amp; Jerry&nbsp;tee", "Tom & Jerry tee"),
        ("line\n\n\tbreaks   folded", "line breaks folded"),
        ("zero\u200bwidth", "zero width"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_it_keeps_text_after_hostile_unclosed_markup() -> None:
    # given: thousands of unclosed tags, which a backtracking pattern chokes on
    raw = "<script>" * 5000 + "<" * 5000 + "tail"
    # when
    cleaned = clean_text(raw)
    # then
    assert cleaned.endswith("tail")
    assert "script" not in cleaned


def test_product_text_joins_title_and_description() -> None:
    assert product_text(" Red <b>tee</b> ", "Soft cotton") == "Red tee Soft cotton"
    assert product_text("Red tee", "") == "Red tee"


def test_detect_language() -> None:
    assert detect_language("男士纯棉短袖T恤") == "zh"
    assert detect_language("Men's cotton T-shirt") == "en"
    assert detect_language("12345") == ""

import pytest

from training.ml.text import clean_text, detect_language, product_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a<script>alert(1)</script>b", "a b"),
        ("<p>Hi <b>there</b></p><STYLE>.x{}</STYLE>!", "Hi there !"),
        ("x <script> y", "x y"),
        ("ＡＢＣ１２３　全角", "ABC123 全角"),  # noqa: RUF001 - fullwidth input is the point
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


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",  # the family emoji: ZWJs
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian mi-khaham: a ZWNJ
        "\u2764\ufe0f and \u270c\ufe0e",  # variation selectors
        # England's flag: a black flag and tag characters
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ],
)
def test_meaningful_format_characters_survive_cleaning(text: str) -> None:
    assert clean_text(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b", "a b"),  # NUL
        ("left\u202eright", "left right"),  # a bidi override
        ("left\u2066right\u2069", "left right"),  # a bidi isolate
        ("Kaf\u00adfee", "Kaffee"),  # a soft hyphen is only a hint
    ],
)
def test_junk_format_characters_are_still_removed(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected

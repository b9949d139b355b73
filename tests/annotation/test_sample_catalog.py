"""The sample catalogue shipped in annotation/sample_data: what `bootstrap_demo`
loads, so a fresh install has something to review at once."""

import json
from collections import Counter
from pathlib import Path

import annotation

SAMPLE_DIR = Path(annotation.__file__).resolve().parent / "sample_data"


def _taxonomy() -> dict:
    return json.loads((SAMPLE_DIR / "taxonomy.json").read_text(encoding="utf-8"))


def _products() -> list[dict]:
    lines = (SAMPLE_DIR / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _tag_keys(taxonomy: dict) -> set[str]:
    return {
        f"{facet['name']}:{tag['name']}" for facet in taxonomy["facets"] for tag in facet["tags"]
    }


def test_every_catalogue_line_is_a_product_with_an_id_and_a_title() -> None:
    products = _products()

    assert len(products) >= 300
    assert all(isinstance(p["id"], str) and p["id"] for p in products)
    assert all(isinstance(p["title"], str) and p["title"].strip() for p in products)
    assert len({p["id"] for p in products}) == len(products)


def test_the_catalogue_has_both_languages() -> None:
    languages = Counter(p["language"] for p in _products())

    assert set(languages) == {"en", "zh"}
    assert languages["zh"] >= 100
    assert languages["en"] >= 150


def test_every_tag_in_the_catalogue_is_in_the_taxonomy() -> None:
    known = _tag_keys(_taxonomy())

    used = {tag for p in _products() for tag in p["tags"]}

    assert used - known == set()


def test_about_a_quarter_of_the_products_carry_tags() -> None:
    products = _products()

    tagged = sum(1 for p in products if p["tags"])

    assert 0.2 <= tagged / len(products) <= 0.3


def test_a_tagged_product_carries_exactly_one_category_and_one_tag_per_single_valued_facet() -> (
    None
):
    single = {f["name"] for f in _taxonomy()["facets"] if not f["multi_valued"]}
    assert "category" in single

    for product in _products():
        if not product["tags"]:
            continue
        facets = Counter(tag.partition(":")[0] for tag in product["tags"])
        assert facets["category"] == 1, product["id"]
        assert all(facets[name] <= 1 for name in single), product["id"]


def test_every_taxonomy_tag_has_english_and_chinese_names_and_aliases() -> None:
    taxonomy = _taxonomy()

    for facet in taxonomy["facets"]:
        assert facet["display_name_en"], facet["name"]
        assert facet["display_name_zh"], facet["name"]
        for tag in facet["tags"]:
            assert tag["display_name_en"].strip(), tag["name"]
            assert tag["display_name_zh"].strip(), tag["name"]
            assert any(alias.isascii() for alias in tag["aliases"]), tag["name"]
            assert any(not alias.isascii() for alias in tag["aliases"]), tag["name"]


def test_the_taxonomy_has_no_duplicate_tag_within_a_facet() -> None:
    for facet in _taxonomy()["facets"]:
        names = [tag["name"].casefold() for tag in facet["tags"]]
        assert len(names) == len(set(names)), facet["name"]


def test_every_taxonomy_tag_has_a_labelled_example_and_some_are_rare() -> None:
    counts = Counter(tag for p in _products() for tag in p["tags"])

    assert _tag_keys(_taxonomy()) - set(counts) == set()
    # The long tail the queue's rare-tag boost is for.
    assert sum(1 for n in counts.values() if n <= 3) >= 3

from pathlib import Path

import pytest

from tests.ml.conftest import write_lines
from training.ml.data import Example, load_examples, tag_specs_from_examples

ROWS = [
    {"id": "p1", "title": "Red <b>Shirt</b>", "description": "Cotton", "tags": ["color:Red"]},
    {"id": "p2", "title": "No tags yet", "description": "", "tags": []},
    {"id": "p3", "title": "Blue Dress", "tags": ["color:Blue", "type:Dress"]},
]


@pytest.mark.parametrize("name", ["products.jsonl", "products.jsonl.gz"])
def test_it_reads_plain_and_gzipped_lines_and_skips_untagged_products(
    tmp_path: Path, name: str
) -> None:
    path = write_lines(tmp_path / name, ROWS)

    examples = load_examples(path)

    assert [e.id for e in examples] == ["p1", "p3"]
    assert examples[0].text == "Red Shirt Cotton"
    assert examples[1].tags == ["color:Blue", "type:Dress"]


def test_it_keeps_untagged_products_when_asked(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.jsonl", ROWS)

    examples = load_examples(path, skip_untagged=False)

    assert [e.id for e in examples] == ["p1", "p2", "p3"]


def test_a_facet_never_doubled_on_a_product_is_inferred_single_valued() -> None:
    examples = [
        Example(str(i), "t", [f"color:C{i % 3}", "style:Printed", "style:Striped"])
        for i in range(12)
    ]

    specs = {s.key: s for s in tag_specs_from_examples(examples)}

    assert specs["color:C0"].single_valued
    assert specs["color:C0"].facet == "color"
    assert specs["color:C0"].name == "C0"
    assert not specs["style:Printed"].single_valued


def test_a_facet_seen_on_few_products_is_not_assumed_single_valued() -> None:
    examples = [Example(str(i), "t", [f"color:C{i}"]) for i in range(3)]

    specs = tag_specs_from_examples(examples)

    assert not any(s.single_valued for s in specs)

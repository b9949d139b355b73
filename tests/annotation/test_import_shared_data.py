"""The import on real catalogues from ../shared/data (skipped when absent)."""

import gzip
import io
import json

import pytest

from annotation.models import Product, ProductTag, Tag
from annotation.services.importing import import_products
from tests.conftest import shared_data_file
from training.ml.text import clean_text

pytestmark = pytest.mark.django_db


def test_chinese_titles_are_stored_intact() -> None:
    path = shared_data_file("zh_openbg_taobao.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(200)]
    source = [json.loads(line) for line in lines]

    result = import_products(io.BytesIO("".join(lines).encode()), filename="openbg.jsonl")

    assert (result.created, result.rejected) == (200, 0), result.errors[:3]
    stored = dict(Product.objects.values_list("external_id", "title"))
    for row in source:
        assert stored[row["id"]] == clean_text(row["title"])
    first = Product.objects.get(external_id=source[0]["id"])
    assert first.language == "zh"
    assert first.attributes["功效"] == source[0]["attributes"]["功效"]
    assert Tag.objects.filter(group__name="功效", name="补水").exists()


@pytest.mark.integration
def test_the_myntra_catalogue_imports_and_reimports_as_unchanged() -> None:
    path = shared_data_file("en_myntra_fashion_15k.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        tag_sets = [{t.casefold() for t in json.loads(line)["tags"]} for line in handle]

    first = import_products(path)
    second = import_products(path)

    assert (first.created, first.updated, first.rejected) == (15_000, 0, 0), first.errors[:3]
    assert (second.created, second.updated, second.unchanged) == (0, 0, 15_000)
    assert Product.objects.count() == 15_000
    assert Tag.objects.count() == len(set().union(*tag_sets))
    assert ProductTag.objects.count() == sum(len(tags) for tags in tag_sets)

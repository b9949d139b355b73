import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import ImportBatch, Product
from tests.factories import TagFactory, TagGroupFactory

pytestmark = pytest.mark.django_db


def call(*args: str) -> str:
    out = io.StringIO()
    call_command("import_products", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_prints_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("id,title,tags\nA1,Blue shirt,color:Blue\nA2,Mug,\n", encoding="utf-8")

    output = call(str(path))

    assert "created 2, updated 0, unchanged 0, rejected 0" in output
    assert Product.objects.count() == 2


def test_it_applies_column_mappings_and_a_forced_format(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text('{"sku": "A1", "name": "Blue shirt"}\n', encoding="utf-8")

    call(str(path), "--map", "sku=id", "--map", "name=title", "--format", "jsonl")

    assert Product.objects.get(external_id="A1").title == "Blue shirt"


def test_it_lists_errors_and_exits_with_status_1_when_the_batch_fails(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    lines = ['{"id": "ok", "title": "Mug"}'] + [f'{{"id": "b{i}", "title": ""}}' for i in range(25)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_products", str(path), stdout=out, stderr=io.StringIO())

    assert raised.value.returncode == 1
    output = out.getvalue()
    assert "created 0, updated 0, unchanged 0, rejected 25" in output
    assert "line 2: title is empty" in output
    assert "line 21: title is empty" in output
    assert "line 22:" not in output
    assert "… and 5 more errors" in output
    assert Product.objects.count() == 0
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED


def test_keep_valid_saves_the_good_rows(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text('{"id": "ok", "title": "Mug"}\n{"id": "bad"}\n', encoding="utf-8")

    output = call(str(path), "--keep-valid")

    assert "created 1, updated 0, unchanged 0, rejected 1" in output
    assert "line 2: missing required field: title" in output


def test_it_refuses_a_malformed_mapping(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonl"
    path.write_text('{"id": "ok", "title": "Mug"}\n', encoding="utf-8")

    with pytest.raises(CommandError, match="--map expects SOURCE=TARGET"):
        call(str(path), "--map", "sku")


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call(str(tmp_path / "nope.csv"))


def test_it_prints_the_facets_and_tags_it_created(tmp_path: Path) -> None:
    TagFactory(group=TagGroupFactory(name="color"), name="Blue")
    path = tmp_path / "catalog.csv"
    path.write_text(
        "id,title,tags\nA1,Blue shirt,color:Blue|bogus:Nope\nA2,Red mug,color:Teal\n",
        encoding="utf-8",
    )

    output = call(str(path)).splitlines()

    assert output[1:] == ["new facets: 1 (bogus)", "new tags: 2 (bogus:Nope, color:Teal)"]


def test_it_bounds_the_lists_and_warns_of_a_facet_name_against_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    rows = "".join(f"P{i},Shirt {i},size:S{i:02d}|Bad Name!!:x\n" for i in range(25))
    path.write_text(f"id,title,tags\n{rows}", encoding="utf-8")

    output = call(str(path)).splitlines()

    # The import succeeds: a facet name never fails it.
    assert "created 25, updated 0, unchanged 0, rejected 0" in output[0]
    sizes = ", ".join(f"size:S{i:02d}" for i in range(9))
    assert output[1:] == [
        "new facets: 2 (Bad Name!!, size)",
        f"new tags: 26 (the first 10: Bad Name!!:x, {sizes})",
        "warning: “Bad Name!!” is not a valid facet name: use letters (any script) and digits, "
        "with single spaces, _, - or / between words, and no other punctuation. The import "
        "created the facet anyway: correct the name in the file, or rename the facet in the "
        "admin.",
    ]


def test_it_says_nothing_of_the_taxonomy_when_it_created_nothing(tmp_path: Path) -> None:
    TagFactory(group=TagGroupFactory(name="color"), name="Blue")
    path = tmp_path / "catalog.csv"
    path.write_text("id,title,tags\nA1,Blue shirt,color:Blue\n", encoding="utf-8")

    output = call(str(path)).splitlines()

    assert len(output) == 1
    assert "created 1" in output[0]

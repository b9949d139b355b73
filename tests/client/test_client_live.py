"""The Python client and the `tagger` command against a live server: every call
goes over HTTP to pytest-django's live_server, through the real API."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from tagger_client import ApiError, Client
from tagger_client.cli import main

from annotation.models import Product, ProductTag
from annotation.services.tag_changes import record_tag_changes
from tests.api.conftest import World
from training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)


def _changed(*products: Product) -> None:
    record_tag_changes([p.pk for p in products])


def test_export_follows_the_cursor_and_syncs_incrementally(
    world: World, export_client: Client
) -> None:
    _changed(*world.products)

    first = list(export_client.export_tags(page_size=1))
    ProductTag.objects.filter(product=world.products[0]).update(state=ProductTag.State.REJECTED)
    _changed(world.products[0])
    since = list(export_client.export_tags(updated_since=first[-1].changed_at))

    assert [r.id for r in first] == ["sku-1", "sku-2", "sku-3"]
    assert [t.tag for t in first[0].tags] == ["color:red"]
    assert first[0].tags[0].source == "import"
    assert [(r.id, r.tags, [t.tag for t in r.removed]) for r in since] == [
        ("sku-1", [], ["color:red"])
    ]


def test_an_export_token_cannot_read_the_catalogue(world: World, export_client: Client) -> None:
    with pytest.raises(ApiError) as refused:
        next(export_client.list_products())

    assert refused.value.status == 403


def test_a_wrong_token_is_refused(world: World, live_server: Any) -> None:
    with pytest.raises(ApiError) as refused:
        list(Client(live_server.url, "tgr_not-a-key").export_tags())

    assert refused.value.status == 401


def test_products_are_created_read_changed_and_listed(world: World, admin_client: Client) -> None:
    created = admin_client.create_product("sku-中/1", "蓝色牛仔夹克", language="zh")
    changed = admin_client.update_product("sku-中/1", tags=["color:blue"])
    listed = [p.id for p in admin_client.list_products(page_size=1)]
    with pytest.raises(ApiError) as rejected:
        admin_client.upsert_products([{"id": "sku-x"}])

    assert (created.id, created.title, created.language) == ("sku-中/1", "蓝色牛仔夹克", "zh")
    assert admin_client.get_product("sku-中/1").tags == changed.tags == ["color:blue"]
    assert sorted(listed) == ["sku-1", "sku-2", "sku-3", "sku-中/1"]
    assert rejected.value.status == 400
    assert rejected.value.body["rejected"] == 1


def test_a_typo_in_a_filter_or_page_size_raises_instead_of_listing_nothing(
    world: World, admin_client: Client, export_client: Client
) -> None:
    with pytest.raises(ApiError) as unknown_tag:
        next(export_client.export_tags(tag="colour:red"))
    with pytest.raises(ApiError) as unknown_facet:
        next(admin_client.list_tags(facet="colour"))
    with pytest.raises(ApiError) as too_large:
        next(admin_client.list_products(page_size=5000))

    assert (unknown_tag.value.status, unknown_tag.value.body) == (
        400,
        {"tag": ["unknown tag 'colour:red'"]},
    )
    assert (unknown_facet.value.status, unknown_facet.value.body) == (
        400,
        {"facet": ["unknown facet 'colour'"]},
    )
    assert too_large.value.status == 400
    assert list(too_large.value.body) == ["page_size"]


def test_the_taxonomy_is_listed_and_extended(world: World, admin_client: Client) -> None:
    tag = admin_client.create_tag("color", "teal", display_name_zh="蓝绿色")

    assert {f.name for f in admin_client.list_facets()} == {"color", "size"}
    assert tag.key == "color:teal"
    assert "color:teal" in {t.key for t in admin_client.list_tags()}


def test_a_product_is_claimed_reviewed_and_undone(world: World, admin_client: Client) -> None:
    claim = admin_client.claim_next_product()
    assert claim is not None
    key = claim.tags[0]["key"]

    reviewed = admin_client.review_product(claim.product.id, {key: True})
    undone = admin_client.undo_review()

    assert reviewed["product"] == claim.product.id
    assert undone["submission"] == reviewed["submission"]


def test_training_is_started_and_followed(
    world: World, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run is queued for a worker; none runs here.
    monkeypatch.setattr("training.jobs.train_model", lambda run_id: f"task-{run_id}")

    run = admin_client.start_training_run("head")

    assert (run.mode, run.status) == ("head", "queued")
    assert admin_client.get_training_run(run.id).id == run.id
    assert [r.id for r in admin_client.list_training_runs()] == [run.id]
    assert [v.id for v in admin_client.list_model_versions()] == [world.version.pk]


def _tagger(live_server: Any, client: Client, *args: str) -> tuple[int, bytes]:
    out = io.BytesIO()
    code = main(["--url", live_server.url, "--token", client.token, *args], stdout=out)
    return code, out.getvalue()


def test_the_command_exports_incrementally_with_a_state_file(
    world: World, export_client: Client, live_server: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    _changed(*world.products)

    code, first = _tagger(live_server, export_client, "export", "--state", str(state))
    _changed(world.products[1])
    _, second = _tagger(live_server, export_client, "export", "--state", str(state))

    assert code == 0
    assert [json.loads(line)["id"] for line in first.splitlines()] == ["sku-1", "sku-2", "sku-3"]
    assert [json.loads(line)["id"] for line in second.splitlines()] == ["sku-2"]
    assert json.loads(state.read_text())["updated_since"] == json.loads(second)["changed_at"]


def test_the_command_imports_a_file_and_waits(
    world: World, admin_client: Client, live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    catalogue = tmp_path / "new.jsonl"
    catalogue.write_text(
        '{"id": "sku-7", "title": "Yellow raincoat"}\n{"id": "sku-8", "title": "黄色雨衣"}\n',
        encoding="utf-8",
    )

    code, _ = _tagger(live_server, admin_client, "import", str(catalogue), "--wait", "--poll", "0")

    assert code == 0
    assert "succeeded, 2 created" in capsys.readouterr().out
    assert set(Product.objects.values_list("external_id", flat=True)) >= {"sku-7", "sku-8"}


def test_the_command_says_what_the_import_added_to_the_taxonomy(
    world: World, admin_client: Client, live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    rows = "".join(
        json.dumps({"id": f"sku-{i}", "title": f"Coat {i}", "tags": [f"fabric:F{i:02d}"]}) + "\n"
        for i in range(12)
    )
    catalogue = tmp_path / "coats.jsonl"
    catalogue.write_text(rows + '{"id": "sku-x", "title": "Hat", "tags": ["Bad Name!!:x"]}\n')

    code, _ = _tagger(live_server, admin_client, "import", str(catalogue), "--wait", "--poll", "0")

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "new facets: 2 (Bad Name!!, fabric)" in lines
    nine = ", ".join(f"fabric:F{i:02d}" for i in range(9))
    assert f"new tags: 13 (the first 10: Bad Name!!:x, {nine})" in lines
    assert any(line.startswith("warning: 'Bad Name!!' is not a valid facet name") for line in lines)


def test_the_command_says_nothing_of_the_taxonomy_when_the_import_added_nothing(
    world: World, admin_client: Client, live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    catalogue = tmp_path / "red.jsonl"
    catalogue.write_text('{"id": "sku-7", "title": "Red coat", "tags": ["color:red"]}\n')

    code, _ = _tagger(live_server, admin_client, "import", str(catalogue), "--wait", "--poll", "0")

    out = capsys.readouterr().out
    assert code == 0
    assert "new facets" not in out
    assert "new tags" not in out


def test_the_command_starts_training_and_shows_the_status(
    world: World,
    admin_client: Client,
    live_server: Any,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("training.jobs.train_model", lambda run_id: f"task-{run_id}")

    started, _ = _tagger(live_server, admin_client, "train", "--mode", "head")
    shown, _ = _tagger(live_server, admin_client, "status")

    run = TrainingRun.objects.get()
    out = capsys.readouterr().out
    assert (started, shown) == (0, 0)
    assert f"training run {run.pk} (head): queued" in out
    assert f"active model: v{world.version.pk} (head, tiny), micro F1 0.500" in out


def test_the_command_says_what_is_missing(capsys: Any) -> None:
    code = main(["--url", "", "--token", "", "status"])

    assert code == 2
    assert "TAGGER_TOKEN" in capsys.readouterr().err


def test_the_command_imports_outside_predictions(
    world: World, admin_client: Client, live_server: Any, tmp_path: Path, capsys: Any
) -> None:
    source = tmp_path / "vendor.jsonl"
    source.write_text(
        '{"product": "sku-1", "tag": "color:blue", "score": 0.66}\n'
        '{"product": "sku-404", "tag": "color:blue", "score": 0.5}\n',
        encoding="utf-8",
    )

    code, _ = _tagger(
        live_server, admin_client, "import", str(source), "--predictions", "vendor-2026-01"
    )

    captured = capsys.readouterr()
    suggestions = admin_client.list_product_suggestions(
        "sku-1", model_version=ModelVersion.objects.get(mode="external").pk
    )
    assert code == 0
    assert "1 created, 0 updated, 1 rejected" in captured.out
    assert "prediction 2: no product with the id 'sku-404'" in captured.err
    assert [(s["key"], s["score"]) for s in suggestions["results"]] == [("color:blue", 0.66)]


def test_the_command_writes_a_hugging_face_dataset_folder(
    world: World, export_client: Client, live_server: Any, tmp_path: Path
) -> None:
    _changed(*world.products)

    code, _ = _tagger(
        live_server, export_client, "export", "--format", "hf", "--out", str(tmp_path)
    )

    rows = (tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert code == 0
    assert [json.loads(r)["tags"] for r in rows] == [["color:red"], ["color:blue"], []]
    assert "path: data/train.jsonl" in card
    assert "num_examples: 3" in card


def test_label_studio_tasks_stream_through_the_client(world: World, export_client: Client) -> None:
    _changed(world.products[1])

    tasks = json.loads(b"".join(export_client.export_stream("labelstudio")))

    assert [(t["data"]["id"], t["annotations"][0]["result"][0]["value"]) for t in tasks] == [
        ("sku-2", {"choices": ["blue"]})
    ]

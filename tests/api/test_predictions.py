"""Outside predictions imported as suggestions of a named external version."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import Suggestion
from tests.api.conftest import World
from training.errors import PromotionError
from training.models import ModelVersion
from training.services import predictions, versions

pytestmark = pytest.mark.django_db

URL = reverse("api:predictions")


def _post(client: APIClient, body: dict[str, Any]) -> Any:
    return client.post(URL, body, format="json")


def test_predictions_become_suggestions_of_their_named_version(
    world: World, integrations: APIClient
) -> None:
    response = _post(
        integrations,
        {
            "model_version": "vendor-2026-01",
            "threshold": 0.6,
            "predictions": [
                {"product": "sku-1", "tag": "color:red", "score": 0.9},
                {"product": "sku-2", "tag": "color:crimson", "score": 0.4},  # an alias
                {"product": "sku-404", "tag": "color:red", "score": 0.9},
                {"product": "sku-3", "tag": "color:mauve", "score": 0.9},
            ],
        },
    )

    body = response.json()
    version = ModelVersion.objects.get(pk=body["model_version"])
    assert response.status_code == 200, body
    assert (body["name"], body["created"], body["updated"], body["rejected"]) == (
        "vendor-2026-01",
        2,
        0,
        2,
    )
    assert [e["index"] for e in body["errors"]] == [2, 3]
    assert (version.mode, version.status) == ("external", "external")
    assert sorted(
        Suggestion.objects.filter(model_version=version).values_list(
            "product__external_id", "tag__name", "score", "selected"
        )
    ) == [("sku-1", "red", 0.9, True), ("sku-2", "red", 0.4, False)]


def test_the_same_name_again_updates_its_suggestions(world: World, integrations: APIClient) -> None:
    first = {"product": "sku-1", "tag": "color:red", "score": 0.2}
    _post(integrations, {"model_version": "rules", "predictions": [first]})

    again = _post(
        integrations, {"model_version": "rules", "predictions": [{**first, "score": 0.8}]}
    ).json()

    assert (again["created"], again["updated"]) == (0, 1)
    assert ModelVersion.objects.filter(mode="external").count() == 1
    assert Suggestion.objects.get(model_version_id=again["model_version"]).score == 0.8


def test_the_suggestions_are_read_like_a_models(world: World, integrations: APIClient) -> None:
    imported = _post(
        integrations,
        {
            "model_version": "vendor",
            "predictions": [{"product": "sku-3", "tag": "color:green", "score": 0.75}],
        },
    ).json()

    shown = integrations.get(
        reverse("api:product-suggestions", args=["sku-3"]),
        {"model_version": imported["model_version"]},
    ).json()

    assert [(s["key"], s["score"]) for s in shown["results"]] == [("color:green", 0.75)]


def test_an_external_version_is_never_promoted(world: World) -> None:
    version = predictions.external_version("vendor")

    with pytest.raises(PromotionError):
        versions.promote(version)


def test_bad_requests_are_refused(world: World, integrations: APIClient, make_client: Any) -> None:
    row = {"product": "sku-1", "tag": "color:red", "score": 0.5}
    reviewer, _ = make_client("merchandiser")

    assert _post(integrations, {"model_version": "", "predictions": [row]}).status_code == 400
    assert _post(integrations, {"model_version": "x\x00", "predictions": [row]}).status_code == 400
    assert (
        _post(integrations, {"model_version": "v", "predictions": [row], "threshold": 2})
    ).status_code == 400
    assert _post(reviewer, {"model_version": "v", "predictions": [row]}).status_code == 403
    assert not ModelVersion.objects.filter(mode="external").exists()


def test_the_command_imports_a_jsonl_file(world: World, tmp_path: Path, capsys: Any) -> None:
    source = tmp_path / "vendor.jsonl"
    source.write_text(
        '{"product": "sku-1", "tag": "color:blue", "score": 0.66}\n'
        '{"product": "sku-2", "tag": "size:L", "score": 0.12}\n',
        encoding="utf-8",
    )

    call_command("import_predictions", str(source), "--model-version", "vendor-jsonl")

    assert "2 created, 0 updated, 0 rejected" in capsys.readouterr().out
    version = ModelVersion.objects.get(mode="external", base_model="vendor-jsonl")
    assert version.tag_vocab == ["color:blue", "size:L"]


def test_the_command_refuses_a_row_without_a_score(world: World, tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text('[{"product": "sku-1", "tag": "color:blue"}]', encoding="utf-8")

    with pytest.raises(CommandError, match="prediction 1"):
        call_command("import_predictions", str(source), "--model-version", "v")


def test_the_models_page_and_dashboard_still_render_beside_an_external_version(
    world: World, make_user: Any
) -> None:
    predictions.import_predictions(
        "vendor-页面", [predictions.Prediction("sku-1", "color:red", 0.9)]
    )
    browser = Client()
    browser.force_login(make_user("ada-pages", roles.ADMIN))

    models_page = browser.get(reverse("training:models"))
    dashboard = browser.get(reverse("training:dashboard"))

    assert (models_page.status_code, dashboard.status_code) == (200, 200)

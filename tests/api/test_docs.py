import json
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator


def test_the_schema_is_valid_openapi_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")

    assert "/api/v1/export/:" in target.read_text()


@pytest.mark.django_db
def test_swagger_ui_loads_its_assets_from_our_own_static_files(client: Client) -> None:
    response = client.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    bundle = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status_code == 200


@pytest.mark.django_db
def test_the_schema_is_served(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert "/api/v1/products/" in response.json()["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("?format=json", ""),
        ("?format=json", "*/*"),
        ("", "application/json"),
        ("", "application/vnd.oai.openapi+json"),
        # The parameter wins over an Accept header that names the other format.
        ("?format=json", "application/yaml"),
    ],
)
def test_the_schema_is_json_when_asked(client: Client, query: str, accept: str) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get(f"/api/schema/{query}", **headers)

    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    assert "/api/v1/products/" in json.loads(response.content)["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "accept"),
    [("", ""), ("", "*/*"), ("?format=yaml", ""), ("?format=yaml", "application/json")],
)
def test_the_schema_is_yaml_by_default_or_when_asked(
    client: Client, query: str, accept: str
) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get(f"/api/schema/{query}", **headers)

    assert response.status_code == 200
    assert "yaml" in response["Content-Type"] or "openapi" in response["Content-Type"]
    assert "json" not in response["Content-Type"]
    assert "/api/v1/products/" in yaml.safe_load(response.content)["paths"]
    assert not response.content.lstrip().startswith(b"{")


@pytest.mark.django_db
def test_another_schema_format_is_a_400_saying_which_there_are(client: Client) -> None:
    response = client.get("/api/schema/?format=xml")

    assert response.status_code == 400
    assert response.json() == {"format": ["use one of yaml, json"]}


def test_the_schema_documents_page_sizes_and_the_count() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    products = schema["paths"]["/api/v1/products/"]["get"]
    export = schema["paths"]["/api/v1/export/"]["get"]
    page = schema["components"]["schemas"]["PaginatedProductList"]

    page_size = next(p for p in products["parameters"] if p["name"] == "page_size")["schema"]
    export_size = next(p for p in export["parameters"] if p["name"] == "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"], page_size["default"]) == (1, 1000, 100)
    assert (export_size["minimum"], export_size["maximum"], export_size["default"]) == (
        1,
        5000,
        1000,
    )
    assert page["required"] == ["next", "previous", "results"]
    assert page["properties"]["count"]["type"] == "integer"
    assert "count" not in products["responses"]["200"]["content"]["application/json"]["example"]

"""A small catalogue and an API client for every kind of caller."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from annotation import roles
from annotation.models import ApiToken, Product, ProductTag, Tag, TagGroup
from annotation.services import queue
from annotation.services.tokens import create_token
from tests.factories import (
    ModelVersionFactory,
    ProductFactory,
    ProductTagFactory,
    SuggestionFactory,
    TagFactory,
    TagGroupFactory,
)
from training.models import ModelVersion

ROLES = ("anonymous", "merchandiser", "admin", "api_client", "export_token", "admin_token")

# Values of ?page= or ?page_size= that are not a positive integer, and the 400's words.
BELOW_ONE = [
    ("0", "Ensure this value is greater than or equal to 1."),
    ("-1", "Ensure this value is greater than or equal to 1."),
]
NOT_INTEGERS = [
    ("abc", "A valid integer is required."),
    ("", "A valid integer is required."),
    ("1.5", "A valid integer is required."),
]
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class World:
    """Two facets (colour multi-valued, size single-valued), three products with
    imported colours, and an active model version that scored them."""

    color: TagGroup
    size: TagGroup
    red: Tag
    blue: Tag
    green: Tag
    small: Tag
    large: Tag
    version: ModelVersion
    products: list[Product]
    model_dir: Path

    def tag(self, name: str | None = None, group: TagGroup | None = None) -> Tag:
        return TagFactory(group=group or self.color, name=name or unique("tone"))

    def version_with_files(self, status: str = ModelVersion.Status.READY) -> ModelVersion:
        version = ModelVersionFactory(mode="head", status=status, base_model="tiny")
        (self.model_dir / f"v{version.pk}").mkdir(parents=True)
        version.artifact_path = f"v{version.pk}"
        version.save(update_fields=["artifact_path"])
        return version


def approve(product: Product, tag: Tag, source: str = ProductTag.Source.IMPORT) -> ProductTag:
    return ProductTagFactory(product=product, tag=tag, source=source)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    # Throttle counters live in the cache, keyed by token id; ids repeat across tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db: None, tmp_path: Path) -> Iterator[World]:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    with override_settings(MODEL_DIR=model_dir):
        color = TagGroupFactory(name="color", position=0)
        size = TagGroupFactory(name="size", position=1, multi_valued=False)
        red = TagFactory(group=color, name="red", aliases=["crimson"])
        blue = TagFactory(group=color, name="blue")
        green = TagFactory(group=color, name="green")
        small = TagFactory(group=size, name="S")
        large = TagFactory(group=size, name="L")
        version = ModelVersionFactory(
            mode="head",
            status=ModelVersion.Status.ACTIVE,
            base_model="tiny",
            artifact_path="v-active",
            metrics={"micro_f1": 0.5, "macro_f1": 0.4},
        )
        (model_dir / "v-active").mkdir()
        products = [
            ProductFactory(
                external_id="sku-1", title="Red cotton shirt", category_path="Apparel > Shirts"
            ),
            ProductFactory(
                external_id="sku-2", title="Blue denim jacket", category_path="Apparel > Jackets"
            ),
            ProductFactory(
                external_id="sku-3", title="Green garden chair", category_path="Home > Garden"
            ),
        ]
        approve(products[0], red)
        approve(products[1], blue)
        for product, tag, score in [
            (products[0], red, 0.91),
            (products[0], small, 0.55),
            (products[1], blue, 0.8),
            (products[2], green, 0.3),
        ]:
            SuggestionFactory(
                product=product, tag=tag, model_version=version, score=score, selected=score > 0.5
            )
        queue.ensure_queue_entries()
        yield World(color, size, red, blue, green, small, large, version, products, model_dir)


@pytest.fixture
def make_client(make_user: Callable[..., User]) -> Callable[[str], tuple[APIClient, User | None]]:
    """A client for a role name of ROLES, and the user it acts as."""

    def make(role: str) -> tuple[APIClient, User | None]:
        client = APIClient()
        if role == "anonymous":
            return client, None
        if role.endswith("_token"):
            scope = role.removesuffix("_token")
            user = make_user(
                unique(f"{scope}-owner-"), roles.ADMIN if scope == "admin" else roles.API_CLIENT
            )
            _, key = create_token(user=user, name=role, scope=scope, created_by=None)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            return client, user
        user = make_user(unique(f"{role}-"), role)
        client.force_login(user)
        return client, user

    return make


@pytest.fixture
def integrations(make_client: Callable[[str], tuple[APIClient, User | None]]) -> APIClient:
    return make_client("admin")[0]


@pytest.fixture
def export_token(make_user: Callable[..., User]) -> tuple[ApiToken, str]:
    user = make_user("exporter", roles.API_CLIENT)
    return create_token(user=user, name="sync", scope=ApiToken.Scope.EXPORT, created_by=None)

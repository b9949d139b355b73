"""The Django admin names every model of the project properly: English plurals
("Import batches", not "Import batchs"), and Chinese names in Chinese."""

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from tests.annotation.ui_catalog import compile_messages
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("annotation", "training")


@pytest.fixture(scope="module", autouse=True)
def _compiled_messages() -> None:
    compile_messages()


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def project_models() -> list:
    return [m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()]


@pytest.mark.parametrize("model", project_models(), ids=lambda m: m.__name__)
def test_every_model_has_translated_singular_and_plural_names(model: type) -> None:
    options = model._meta
    for name in (options.verbose_name, options.verbose_name_plural):
        assert isinstance(name, Promise), f"{model.__name__}: {name!r} is not translatable"
        with translation.override("en"):
            english = str(name)
        with translation.override("zh-hans"):
            chinese = str(name)
        assert chinese != english, f"{model.__name__}: {english!r} has no Chinese translation"


def test_the_admin_index_in_english_has_proper_plurals(superuser_client: Client) -> None:
    superuser_client.cookies["django_language"] = "en"

    page = superuser_client.get(reverse("admin:index")).content.decode()

    for wrong in ("batchs", "entrys", "Api tokens", "deliverys"):
        assert wrong not in page
    for right in ("Import batches", "Queue entries", "API tokens", "Webhook deliveries"):
        assert right in page
    assert "Catalogue and review" in page
    assert "Model training" in page


def test_the_admin_in_chinese_names_the_models_in_chinese(superuser_client: Client) -> None:
    superuser_client.cookies["django_language"] = "zh-hans"

    index = superuser_client.get(reverse("admin:index")).content.decode()
    changelist = superuser_client.get(
        reverse("admin:annotation_queueentry_changelist")
    ).content.decode()

    for chinese in ("目录与审核", "模型训练", "导入批次", "队列条目", "API 令牌", "模型版本"):
        assert chinese in index
    for english in ("Import batch", "Queue entr", "Api token", "Model version"):
        assert english not in index
    assert "选择 队列条目 来修改" in changelist
    assert "queue entry" not in changelist

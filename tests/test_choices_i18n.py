"""Statuses, modes, sources, actions, reasons and training stages read in
Chinese for a Chinese reader: every choice label of the apps' models is
translated, and a training run stores its stage as a key that pages translate."""

import re

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from tests.annotation.ui_catalog import compile_messages
from tests.factories import TrainingRunFactory
from training.models import ModelVersion, TrainingRun
from training.services.job import _Reporter
from training.stages import stage_key, stage_label

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    compile_messages()


def choice_labels() -> list[tuple[str, str, object]]:
    found = []
    for app in ("annotation", "training"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                if isinstance(field, models.Field) and field.choices:
                    for value, label in field.choices:
                        found.append((f"{model.__name__}.{field.name}", str(value), label))
    return found


@pytest.mark.parametrize(("field", "value", "label"), choice_labels())
def test_every_choice_label_is_translated(field: str, value: str, label: object) -> None:
    with translation.override("zh-hans"):
        shown = str(label)

    assert CJK.search(shown), f"{field}={value} reads {shown!r} in Chinese"


def test_a_status_display_follows_the_language() -> None:
    version = ModelVersion(status=ModelVersion.Status.ARCHIVED, mode=ModelVersion.Mode.HEAD)

    with translation.override("zh-hans"):
        assert (version.get_status_display(), version.get_mode_display()) == (
            "已归档",
            "冻结编码器 + 分类头",
        )
    with translation.override("en"):
        assert version.get_status_display() == "Archived"


@pytest.mark.parametrize(
    ("reported", "key", "chinese"),
    [
        ("preparing data", "prepare", "准备数据"),
        ("training head, epoch 3", "head_epoch:3", "训练分类头，第 3 轮"),
        ("epoch 2/5 step 10/40", "finetune_step:2:5:10:40", "微调，第 2/5 轮，第 10/40 步"),
        ("epoch 2/5 validating", "finetune_validate:2:5", "微调，第 2/5 轮：验证中"),
        ("something new", "something new", "something new"),
    ],
)
def test_a_stage_is_stored_as_a_key_and_shown_translated(
    reported: str, key: str, chinese: str
) -> None:
    assert stage_key(reported) == key
    with translation.override("zh-hans"):
        assert stage_label(key) == chinese
        # Rows written before stages were keys hold the English text.
        assert stage_label(reported) == chinese
    with translation.override("en"):
        assert stage_label("head_epoch:3") == "training the head, epoch 3"


@pytest.mark.django_db
def test_the_run_row_holds_the_key_and_the_log_the_words() -> None:
    run = TrainingRunFactory(status=TrainingRun.Status.RUNNING)
    reporter = _Reporter(run, None)

    reporter.update(0.5, "training head, epoch 3")

    run.refresh_from_db()
    assert run.stage == "head_epoch:3"
    assert "training head, epoch 3" in run.log
    with translation.override("zh-hans"):
        assert run.stage_display == "训练分类头，第 3 轮"


def test_merge_notes_on_the_audit_trail_read_in_chinese() -> None:
    from annotation.templatetags.labels import event_note

    with translation.override("zh-hans"):
        assert event_note("merged color:Navy Blue into color:Blue") == (
            "已将 color:Navy Blue 合并到 color:Blue"
        )
        assert event_note("unmerged color:Navy from color:Blue") == (
            "已将 color:Navy 从 color:Blue 中拆分出来"
        )
        assert event_note("checked by hand") == "checked by hand"

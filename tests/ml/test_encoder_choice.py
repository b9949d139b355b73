"""Which encoder a catalogue gets: by its language, unless TAGGER_BASE_MODEL says."""

import json
import logging
from pathlib import Path

import pytest

from training.ml import encoder
from training.ml.e5_convert import MODEL_NAME, STAMP_FILE
from training.ml.encoder import (
    chinese_share,
    default_base_model,
    minilm_base_model,
    named_base_model,
)
from training.ml.scorers import resolve_base_model

ENGLISH = ["Navy blue cotton shirt for men", "Red silk dress", "Leather wallet"] * 10
CHINESE = ["纯棉男士衬衫 藏青色", "真丝连衣裙 红色", "真皮钱包"] * 10


@pytest.fixture
def built_e5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An encoders directory holding a (stamped) multilingual-e5-small build."""
    monkeypatch.delenv("TAGGER_BASE_MODEL", raising=False)
    monkeypatch.setenv("TAGGER_ENCODERS_DIR", str(tmp_path))
    directory = tmp_path / MODEL_NAME
    directory.mkdir()
    (directory / STAMP_FILE).write_text(json.dumps({"converter_version": 1}))
    return directory


def test_a_chinese_catalogue_reads_through_the_multilingual_encoder(built_e5: Path) -> None:
    assert default_base_model(CHINESE) == str(built_e5)


def test_a_mixed_catalogue_does_too(built_e5: Path) -> None:
    mixed = ENGLISH[:24] + CHINESE[:6]  # a fifth Chinese

    assert chinese_share(mixed) == pytest.approx(0.2)
    assert default_base_model(mixed) == str(built_e5)


def test_an_english_catalogue_keeps_minilm(built_e5: Path) -> None:
    assert default_base_model(ENGLISH) == minilm_base_model()
    assert default_base_model() == minilm_base_model()  # no texts: no reason to switch


def test_without_the_build_chinese_falls_back_to_minilm_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TAGGER_BASE_MODEL", raising=False)
    monkeypatch.setenv("TAGGER_ENCODERS_DIR", str(tmp_path / "nothing-here"))

    with caplog.at_level(logging.WARNING, logger=encoder.__name__):
        chosen = default_base_model(CHINESE)

    assert chosen == minilm_base_model()
    assert "make encoders" in caplog.text
    with pytest.raises(FileNotFoundError, match="make encoders"):
        named_base_model("e5")


def test_the_environment_still_decides_first(
    built_e5: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGGER_BASE_MODEL", "/models/my-encoder")

    assert default_base_model(CHINESE) == "/models/my-encoder"
    assert default_base_model(ENGLISH) == "/models/my-encoder"


def test_short_names_name_the_two_encoders(built_e5: Path) -> None:
    assert named_base_model("e5") == str(built_e5)
    assert named_base_model("minilm") == minilm_base_model()
    assert named_base_model("/some/dir") == "/some/dir"


def test_a_model_trained_on_another_machines_e5_build_uses_this_machines(
    built_e5: Path,
) -> None:
    elsewhere = f"/home/someone/tagger/var/encoders/{MODEL_NAME}"

    assert resolve_base_model(elsewhere) == str(built_e5)
    assert resolve_base_model("/gone/all-MiniLM-L6-v2") == minilm_base_model()


def test_train_tagger_picks_the_encoder_from_its_texts(
    built_e5: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.ml import model as model_module
    from training.ml.model import TrainConfig, train_tagger
    from training.ml.types import TagSpec

    seen: list[str] = []

    def fake_head(*args: object, **kwargs: object) -> None:
        seen.append(str(args[5]))  # base_model
        raise RuntimeError("stop here")

    monkeypatch.setattr(model_module, "train_head_scorer", fake_head)
    with pytest.raises(RuntimeError, match="stop here"):
        train_tagger(CHINESE, [["a:b"]] * len(CHINESE), [TagSpec.from_key("a:b")], TrainConfig())

    assert seen == [str(built_e5)]


def test_reports_name_the_packaged_encoders_by_model_not_by_folder(built_e5: Path) -> None:
    # The MiniLM package keeps its weights in a folder called "model".
    assert Path(minilm_base_model()).name == "model"
    assert encoder.encoder_label(minilm_base_model()) == "all-MiniLM-L6-v2"
    assert encoder.encoder_label(str(built_e5)) == "multilingual-e5-small"
    assert encoder.encoder_label("/models/my-encoder") == "my-encoder"
    assert encoder.encoder_label("intfloat/multilingual-e5-base") == "multilingual-e5-base"

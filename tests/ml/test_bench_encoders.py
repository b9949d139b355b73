"""bench/encoders.py: the configurations it measures and the table it keeps.

The bench script is imported as a module (bench/ is not a package); nothing here
trains or reads the shared data."""

import argparse
import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def encoders():
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("encoders")
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(autouse=True)
def named_models(encoders, monkeypatch: pytest.MonkeyPatch, tiny_bert: str) -> None:
    # No converted e5 needed: every short name resolves to the tiny test model.
    monkeypatch.setattr(encoders, "named_base_model", lambda name: tiny_bert)
    monkeypatch.delenv("TAGGER_ENCODER_PRECISION", raising=False)


def test_full_mode_keeps_the_cpu_defaults_and_takes_the_given_lora_rate(encoders) -> None:
    from training.ml.fitting import CPU_FINETUNE_EPOCHS, CPU_LORA_LAYERS

    config = encoders.config_for("full", "e5", lora_lr=2e-3)
    assert config.finetune.adapter == "lora"
    assert config.finetune.lora_layers == CPU_LORA_LAYERS
    assert config.finetune.epochs == CPU_FINETUNE_EPOCHS
    assert config.finetune.lora_lr == pytest.approx(2e-3)
    assert config.finetune.device == "cpu"


def test_full_mode_takes_the_given_epochs(encoders) -> None:
    config = encoders.config_for("full", "e5", epochs=2)
    assert config.finetune.epochs == 2
    assert config.finetune.adapter == "lora"


def test_full_mode_without_overrides_leaves_the_fine_tuning_to_the_trainer(encoders) -> None:
    assert encoders.config_for("full", "e5").finetune is None
    assert encoders.config_for("head", "e5", epochs=3).finetune is None


def test_the_precision_reaches_the_config_and_names_the_run(encoders) -> None:
    assert encoders.config_for("head", "e5", precision="int8").precision == "int8"
    args = argparse.Namespace(variant="", precision="int8")
    assert encoders.variant_of(args) == "int8"
    assert encoders.variant_of(argparse.Namespace(variant="", precision="fp32")) == ""
    assert encoders.variant_of(argparse.Namespace(variant="lr2e-3", precision="int8")) == "lr2e-3"


def result(dataset: str, encoder: str, mode: str, micro: float, variant: str = "") -> dict:
    return {
        "dataset": dataset,
        "encoder": encoder,
        "mode": mode,
        "variant": variant,
        "n_train": 80,
        "n_test": 20,
        "subsample": None,
        "micro_f1": micro,
        "macro_f1": micro / 2,
        "seconds": 12.0,
        "baseline": {"micro_f1": 0.5, "macro_f1": 0.25},
    }


def test_a_rerun_replaces_its_row_and_rows_without_runs_are_kept(encoders) -> None:
    old = encoders.row(result("zh_openbg_taobao", "e5", "head", 0.1))
    other = encoders.row(result("en_flipkart_1k", "minilm", "head", 0.3))
    doc = (
        f"# Benchmarks\n\n## {encoders.TITLE}\n\ntext\n\n"
        + "\n".join([*encoders.HEADER, old, other])
        + "\n\nCommands: `python bench/encoders.py --a`, `python bench/encoders.py --b` "
        "(one JSON per run in `bench/out/encoders/`).\n\n"
        "### Default mode per device\n\nHead on the CPU.\n\n## Next\n"
    )
    kept, commands, notes = encoders.recorded(doc)
    assert notes == "### Default mode per device\n\nHead on the CPU."
    assert kept == [old, other]
    assert commands == ["python bench/encoders.py --a", "python bench/encoders.py --b"]

    runs = [
        result("zh_openbg_taobao", "e5", "head", 0.6),
        result("zh_openbg_taobao", "e5", "head", 0.59, variant="int8"),
    ]
    lines = encoders.table(runs, kept).splitlines()[2:]
    assert lines == [
        other,  # Flipkart comes before OpenBG
        encoders.row(runs[0]),  # the re-run replaced the old 0.1 row
        encoders.row(runs[1]),
    ]
    assert "| head (int8) |" in lines[2]


def test_render_keeps_earlier_rows_commands_and_conclusions(
    encoders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    earlier = encoders.row(result("en_flipkart_1k", "e5", "full", 0.4))
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        f"# Benchmarks\n\n## {encoders.TITLE}\n\nold text\n\n"
        + "\n".join([*encoders.HEADER, earlier])
        + "\n\nCommands: `python bench/encoders.py --old` (one JSON per run).\n\n"
        "### Default mode per device\n\nHead on the CPU.\n\n## Other\n\nuntouched\n",
        encoding="utf-8",
    )
    runs = tmp_path / "runs"
    runs.mkdir()
    new = result("zh_openbg_taobao", "e5", "head", 0.6)
    new.update(command="python bench/encoders.py --new", machine="2-core CPU")
    (runs / "zh-head-e5.json").write_text(json.dumps(new))
    monkeypatch.setattr(encoders, "DOC", doc)
    monkeypatch.setattr(encoders, "RUNS", runs)
    monkeypatch.setattr(encoders, "SPEED", tmp_path / "no-speed.json")

    encoders.render()
    text = doc.read_text(encoding="utf-8")
    assert earlier in text
    assert encoders.row(new) in text
    assert "`python bench/encoders.py --new`, `python bench/encoders.py --old`" in text
    assert "### Default mode per device\n\nHead on the CPU.\n\n## Other\n\nuntouched\n" in text
    assert "old text" not in text


def test_a_run_without_precision_is_named_by_the_cpu_default(
    encoders, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.ml import encoder

    monkeypatch.setattr(encoder, "cpu_bf16_kind", lambda: None)
    args = argparse.Namespace(variant="", precision=None)
    assert encoders.variant_of(args) == ""  # fp32 unless configured (or bf16 hardware)
    monkeypatch.setattr(encoder, "cpu_bf16_kind", lambda: "avx512_bf16")
    assert encoders.variant_of(args) == "bf16"
    monkeypatch.setenv("TAGGER_ENCODER_PRECISION", "int8")
    assert encoders.variant_of(args) == "int8"


@pytest.mark.parametrize(("kind", "words"), [("amx", "bf16 by AMX"), (None, "no bf16 hardware")])
def test_the_machine_line_names_the_cpu_and_its_bf16_hardware(
    encoders, monkeypatch: pytest.MonkeyPatch, kind: str | None, words: str
) -> None:
    """Every bench's "Machine:" line (bench/quality.py's machine): rates move with the
    CPU's bfloat16 hardware, so the line says which it has."""
    import quality

    from training.ml import encoder

    monkeypatch.setattr(encoder, "cpu_bf16_kind", lambda: kind)
    monkeypatch.setattr(quality, "cpu_model", lambda: "Some CPU")

    line = quality.machine()

    assert "-core CPU (Some CPU, " in line
    assert f", {words})" in line

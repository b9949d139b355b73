import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings

from tests.ml.conftest import toy_products, write_lines

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _write(path: Path, n: int, seed: int) -> Path:
    texts, labels = toy_products(n, seed=seed)
    rows = [
        {"id": f"p{seed}-{i}", "title": t, "description": "", "tags": tags}
        for i, (t, tags) in enumerate(zip(texts, labels, strict=True))
    ]
    rows.append({"id": "untagged", "title": "red dress", "tags": []})
    return write_lines(path, rows)


def test_a_holdout_evaluation_writes_json_with_the_baseline(
    tiny_bert: str,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.TAGGER_CACHE_DIR = tmp_path / "cache"
    train = _write(tmp_path / "train.jsonl.gz", 80, seed=1)
    test = _write(tmp_path / "test.jsonl", 20, seed=2)
    out = tmp_path / "out" / "result.json"

    call_command(
        "evaluate", "--train", str(train), "--test", str(test), "--base-model", tiny_bert,
        "--json", str(out),
    )  # fmt: skip

    result = json.loads(out.read_text())
    for key in ("micro_f1", "macro_f1", "micro_precision", "micro_recall", "coverage",
                "per_tag", "n_train", "n_test", "seconds", "baseline"):  # fmt: skip
        assert key in result
    assert (result["n_train"], result["n_test"]) == (80, 20)
    assert "micro_f1" in result["baseline"]
    printed = capsys.readouterr().out
    assert "baseline" in printed
    assert "micro-F1" in printed


def test_k_fold_evaluation_runs_on_one_file(
    tiny_bert: str, tmp_path: Path, settings: Settings
) -> None:
    settings.TAGGER_CACHE_DIR = tmp_path / "cache"
    data = _write(tmp_path / "all.jsonl", 60, seed=3)
    out = tmp_path / "cv.json"

    call_command(
        "evaluate", "--data", str(data), "--folds", "3", "--seed", "1", "--base-model", tiny_bert,
        "--no-baseline", "--json", str(out),
    )  # fmt: skip

    result = json.loads(out.read_text())
    assert result["k"] == 3
    assert result["n_test"] == 60


def test_it_explains_missing_arguments() -> None:
    with pytest.raises(CommandError, match="--train and --test"):
        call_command("evaluate", "--train", "x.jsonl")

"""scripts/install_torch.py never lets pip choose a CUDA build on a CPU machine."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install_torch.py"


@pytest.fixture(scope="module")
def install_torch() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_torch"] = module
    spec.loader.exec_module(module)
    return module


def test_a_reachable_index_is_the_only_index(install_torch: ModuleType) -> None:
    args = install_torch.pip_arguments("2.13.0", install_torch.CPU_INDEX, True, "Linux")
    assert args == ["--index-url", install_torch.CPU_INDEX, "torch==2.13.0"]


def test_without_the_index_linux_asks_for_the_cpu_build_only(install_torch: ModuleType) -> None:
    assert install_torch.pip_arguments("2.13.0", install_torch.CPU_INDEX, False, "Linux") == [
        "torch==2.13.0+cpu"
    ]


def test_without_the_index_macos_takes_pypis_cpu_only_build(install_torch: ModuleType) -> None:
    assert install_torch.pip_arguments("2.13.0", install_torch.CPU_INDEX, False, "Darwin") == [
        "torch==2.13.0"
    ]


def test_pypi_is_only_taken_when_asked_for(install_torch: ModuleType) -> None:
    assert install_torch.pip_arguments("2.13.0", "pypi", False, "Linux") == ["torch==2.13.0"]


def test_an_index_that_does_not_answer_is_unreachable(install_torch: ModuleType) -> None:
    assert not install_torch.index_reachable("http://127.0.0.1:9/whl/cpu", timeout=2)
    assert not install_torch.index_reachable("not a url", timeout=2)


def test_print_shows_the_command_without_running_pip(
    install_torch: ModuleType, capsys: pytest.CaptureFixture
) -> None:
    rc = install_torch.main(["--print", "--index-url", "http://127.0.0.1:9/whl/cpu"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "torch==2.13.0+cpu" in err or "torch==2.13.0" in err
    assert "does not answer" in err

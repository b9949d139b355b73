"""The import graph the project promises in docs/architecture.md: no cycles (imports
inside functions count), and every arrow pointing down the layers."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_imports", ROOT / "scripts" / "check_imports.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_imports"] = module
    spec.loader.exec_module(module)
    return module


checker = load_checker()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_project_has_no_import_cycle_and_obeys_its_layering() -> None:
    graph = checker.build_graph(ROOT)

    assert checker.find_cycles(graph.edges) == []
    assert list(checker.layering_violations(graph)) == []
    assert len(graph.modules) > 100  # it read the real tree


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "training/__init__.py": "",
            "training/tasks.py": "from training.services import job\n",
            "training/services/__init__.py": "",
            "training/services/job.py": "def enqueue():\n    from training import tasks\n",
        },
    )

    cycles = checker.find_cycles(checker.build_graph(root).edges)

    assert cycles == [["training.services.job", "training.tasks"]]


def test_a_cycle_through_a_package_that_re_exports_is_found(tmp_path: Path) -> None:
    # Importing annotation.services.importing.created runs importing/__init__
    # first, which imports service, which imports webhooks: the loop the
    # webhooks module fell into at import time.
    root = write(
        tmp_path,
        {
            "annotation/__init__.py": "",
            "annotation/services/__init__.py": "",
            "annotation/services/webhooks.py": (
                "from annotation.services.importing.created import created_taxonomy\n"
            ),
            "annotation/services/importing/__init__.py": (
                "from annotation.services.importing.service import import_file\n"
            ),
            "annotation/services/importing/created.py": "",
            "annotation/services/importing/service.py": (
                "from annotation.services import webhooks\n"
                "from annotation.services.importing.created import created_taxonomy\n"
            ),
        },
    )

    cycles = checker.find_cycles(checker.build_graph(root).edges)

    assert cycles == [
        [
            "annotation.services.importing",
            "annotation.services.importing.service",
            "annotation.services.webhooks",
        ]
    ]


def test_a_package_that_imports_nothing_is_no_dependency(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "annotation/__init__.py": "",
            "annotation/models.py": "from training.ml import text\n",
            "training/__init__.py": "",
            "training/views.py": "from annotation import models\n",
            "training/ml/__init__.py": "",
            "training/ml/text.py": "",
        },
    )

    graph = checker.build_graph(root)

    assert graph.edges["annotation.models"] == {"training.ml.text"}
    assert list(checker.layering_violations(graph)) == []


def test_an_import_hidden_under_type_checking_still_counts(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "annotation/__init__.py": "",
            "annotation/models.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from training.models import ModelVersion\n"
            ),
            "training/__init__.py": "",
            "training/models.py": "",
        },
    )

    violations = list(checker.layering_violations(checker.build_graph(root)))

    assert violations == [
        "annotation.models -> training.models (annotation may not import training)"
    ]


def test_the_seam_may_point_up_but_nothing_else_may(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "annotation/__init__.py": "",
            "annotation/services/__init__.py": "",
            "annotation/services/active_model.py": "from training.models import ModelVersion\n",
            "annotation/views.py": "import training.models\n",
            "training/__init__.py": "",
            "training/models.py": "",
        },
    )

    violations = list(checker.layering_violations(checker.build_graph(root)))

    assert violations == [
        "annotation.views -> training.models (annotation may not import training)"
    ]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {
                "training/services/runs.py": "from training.tasks import train\n",
                "training/tasks.py": "",
            },
            "training.services.runs -> training.tasks (services may not import tasks)",
        ),
        (
            {"training/ml/model.py": "from django.conf import settings\n"},
            "training.ml.model -> django (the ML core imports no django)",
        ),
        (
            {"annotation/views.py": "import torch\n"},
            "annotation.views -> torch (only the ML core imports torch)",
        ),
        (
            {
                "training/ml/text.py": "from annotation.models import Product\n",
                "annotation/models.py": "",
            },
            "training.ml.text -> annotation.models (training.ml may not import annotation)",
        ),
    ],
)
def test_arrows_against_the_rules_are_reported(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    packages = {
        "annotation/__init__.py": "",
        "training/__init__.py": "",
        "training/ml/__init__.py": "",
    }
    packages["training/services/__init__.py"] = ""
    root = write(tmp_path, {**packages, **files})

    violations = list(checker.layering_violations(checker.build_graph(root)))

    assert violations == [expected]

"""Every function of an app's jobs module enqueues through the transactional
outbox (annotation.services.outbox), never straight on the broker: a task put on
the broker by hand is lost when the broker is down, and is sent even when the
transaction that wrote its data rolls back."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOBS_MODULES = ("annotation/jobs.py", "training/jobs.py")
# Celery calls that put a message on the broker (or build one to put there).
BROKER_CALLS = {"delay", "apply_async", "send_task", "si", "s", "signature", "chain", "group"}
OUTBOX_CALLS = {"enqueue", "send_now"}
# Helpers that only answer a question (a registered task, a queue's name) and send nothing.
LOOKUPS = {"task", "training_queue", "scoring_queue"}


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            if isinstance(call.func, ast.Attribute):
                names.add(call.func.attr)
            elif isinstance(call.func, ast.Name):
                names.add(call.func.id)
    return names


@pytest.mark.parametrize("path", JOBS_MODULES)
def test_no_jobs_function_puts_a_task_on_the_broker_itself(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))

    assert not _calls(tree) & BROKER_CALLS


@pytest.mark.parametrize("path", JOBS_MODULES)
def test_every_jobs_function_goes_through_the_outbox(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    functions = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and node.name not in LOOKUPS
    ]

    assert functions
    for function in functions:
        assert _calls(function) & OUTBOX_CALLS, f"{path}: {function.name} bypasses the outbox"

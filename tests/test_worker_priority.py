"""Celery worker processes yield the CPU to the web: their niceness goes up by
TAGGER_WORKER_NICE when the pool starts them. Checked in a child process, so
this test's own process keeps its priority."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import os
import django
django.setup()
from tagger.celery import yield_cpu_to_the_web
before = os.nice(0)
yield_cpu_to_the_web()
print(before, os.nice(0))
"""


def niceness_change(setting: str) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TAGGER_WORKER_NICE": setting}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    before, after = int(out[-2]), int(out[-1])
    return after - before


@pytest.mark.skipif(os.nice(0) > 19 - 7, reason="already at the lowest CPU priority")
def test_a_worker_process_lowers_its_cpu_priority_by_the_setting() -> None:
    assert niceness_change("7") == 7


def test_zero_leaves_the_worker_priority_alone() -> None:
    assert niceness_change("0") == 0

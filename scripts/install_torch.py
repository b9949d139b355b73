"""Install torch so that a machine without a GPU never downloads CUDA packages.

``make venv`` runs this before installing the project (which then finds torch
satisfied). PyPI's Linux torch wheels depend on a dozen ``nvidia-*`` packages
(several GB); the CPU builds live on the PyTorch CPU index, where Linux wheels
carry the local version ``+cpu``. The choice, in order:

1. ``TORCH_INDEX_URL=pypi``: PyPI's default build, on purpose (CUDA on Linux);
2. the index (default https://download.pytorch.org/whl/cpu) answers: torch from
   there, with ``--index-url`` so nothing else is looked for on PyPI;
3. it does not answer, on Linux: ``torch==VERSION+cpu`` from whatever pip is
   configured with (a wheelhouse, a mirror: ``pip config list``). Only a CPU
   build carries ``+cpu``, so pip either finds one or fails, and never falls
   back to a CUDA build;
4. it does not answer, elsewhere (macOS, Windows): PyPI's build, which is
   already CPU-only there.

Usage: python scripts/install_torch.py [--version V] [--index-url URL]
           [--report FILE (a dry run: pip's --dry-run --report)] [--print]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import urllib.error
import urllib.request

DEFAULT_VERSION = "2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI = "pypi"
PROBE_TIMEOUT_S = 10.0


def index_reachable(index_url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the index's torch page answers (any HTTP answer but an error)."""
    url = index_url.rstrip("/") + "/torch/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def pip_arguments(version: str, index_url: str, reachable: bool, system: str) -> list[str]:
    """The arguments after ``pip install`` (see the module's docstring)."""
    if index_url == PYPI:
        return [f"torch=={version}"]
    if reachable:
        return ["--index-url", index_url, f"torch=={version}"]
    if system == "Linux":
        return [f"torch=={version}+cpu"]
    return [f"torch=={version}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Install torch without CUDA packages on a CPU machine."
    )
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument(
        "--index-url", default=os.environ.get("TORCH_INDEX_URL", "").strip() or CPU_INDEX
    )
    parser.add_argument("--report", help="dry run: write pip's installation report here")
    parser.add_argument("--print", action="store_true", help="print the pip command only")
    args = parser.parse_args(argv)

    reachable = args.index_url != PYPI and index_reachable(args.index_url)
    install = pip_arguments(args.version, args.index_url, reachable, platform.system())
    if args.index_url != PYPI and not reachable:
        print(  # noqa: T201
            f"install_torch: {args.index_url} does not answer; looking for "
            f"{install[-1]} in pip's configured indexes and wheelhouses",
            file=sys.stderr,
        )
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    if args.report:
        command += ["--dry-run", "--ignore-installed", "--report", args.report]
    command += install
    print("install_torch: " + " ".join(command[1:]), file=sys.stderr)  # noqa: T201
    if args.print:
        return 0
    rc = subprocess.call(command)
    if rc != 0 and install[-1].endswith("+cpu"):
        print(  # noqa: T201
            f"install_torch: no CPU build of torch {args.version} was found. Set "
            f"TORCH_INDEX_URL to a reachable mirror of {CPU_INDEX}, or TORCH_INDEX_URL=pypi "
            "to take PyPI's default build (on Linux it downloads the CUDA packages, "
            "several GB). See docs/install.md.",
            file=sys.stderr,
        )
    return rc


if __name__ == "__main__":
    sys.exit(main())

"""Writing model artifact directories atomically, and what they record."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def versions() -> dict[str, str]:
    """Library versions that shape the artifact, recorded for reproducibility."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "numpy", "scikit-learn", "safetensors"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def training_fingerprint(texts: Sequence[str], labels: Sequence[Sequence[str]]) -> str:
    """sha256 over the sorted (text hash, sorted labels) lines: the same training set
    in any order gives the same fingerprint."""
    lines = sorted(
        hashlib.sha256(text.encode("utf-8")).hexdigest() + "\t" + "\x1f".join(sorted(tags))
        for text, tags in zip(texts, labels, strict=True)
    )
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8"
    )


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened for fsync on some platforms
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_directory_atomically(directory: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a fresh directory beside `directory`, fsync it, then move
    it into place, so readers see either the old artifact or the complete new one.
    An existing directory is replaced (renamed aside first, then removed)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        write(tmp)
        _fsync_tree(tmp)
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
            os.replace(directory, old / "artifact")
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
        _fsync_dir(directory.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

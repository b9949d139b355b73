"""Model artifact directories: writing them atomically, and reading and writing the
files every artifact shares (config, tags, thresholds, metrics, fingerprint).

A TaggerModel artifact is these common files plus its scorer's own files (the
scorer writes and reads those; registry.py picks the scorer by the recorded mode).
The fine-tuning CLI's artifact carries a plain tag vocabulary under the same
TAGS_FILE name (write_tag_vocab / read_tag_vocab).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .types import TagSpec

FORMAT_VERSION = 2  # 2: head artifacts carry the rare-tag boost (priors.py)
CONFIG_FILE = "config.json"
TAGS_FILE = "tags.json"
THRESHOLDS_FILE = "thresholds.json"
METRICS_FILE = "metrics.json"
# Per-tag score calibration (calibration.Calibration.to_json); absent in artifacts
# made before it existed, which then show raw scores.
CALIBRATION_FILE = "calibration.json"
FINGERPRINT_FILE = "fingerprint"


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


def tags_to_json(tags: Sequence[TagSpec]) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "facet": t.facet,
            "name": t.name,
            "aliases": list(t.aliases),
            "single_valued": t.single_valued,
        }
        for t in tags
    ]


def tags_from_json(data: Sequence[dict[str, Any]]) -> list[TagSpec]:
    return [
        TagSpec(
            key=t["key"],
            facet=t["facet"],
            name=t["name"],
            aliases=tuple(t["aliases"]),
            single_valued=t["single_valued"],
        )
        for t in data
    ]


def write_tags(directory: Path, tags: Sequence[TagSpec]) -> None:
    """The tags of a TaggerModel artifact, in column order."""
    write_json(Path(directory) / TAGS_FILE, tags_to_json(tags))


def read_tags(directory: Path) -> list[TagSpec]:
    return tags_from_json(read_json(Path(directory) / TAGS_FILE))


def write_tag_vocab(directory: Path, tag_vocab: Sequence[str]) -> None:
    """The tag key of each output column of a fine-tuning CLI artifact."""
    (Path(directory) / TAGS_FILE).write_text(json.dumps(list(tag_vocab)), encoding="utf-8")


def read_tag_vocab(path: Path) -> list[str]:
    """A JSON list of tag keys (a file, e.g. the CLI's --tags)."""
    return [str(tag) for tag in json.loads(Path(path).read_text(encoding="utf-8"))]


@dataclass
class ArtifactMeta:
    """What a TaggerModel artifact records besides its scorer's own files."""

    mode: str
    base_model: str
    tags: list[TagSpec]
    thresholds: np.ndarray
    seed: int = 0
    fingerprint: str = ""
    metrics: dict | None = None
    info: dict = field(default_factory=dict)
    calibration: dict | None = None


def write_meta(directory: Path, meta: ArtifactMeta) -> None:
    directory = Path(directory)
    write_json(
        directory / CONFIG_FILE,
        {
            "format": FORMAT_VERSION,
            "mode": meta.mode,
            "base_model": meta.base_model,
            "seed": meta.seed,
            "versions": versions(),
            "info": meta.info,
        },
    )
    write_tags(directory, meta.tags)
    write_json(
        directory / THRESHOLDS_FILE,
        {t.key: float(v) for t, v in zip(meta.tags, meta.thresholds, strict=True)},
    )
    if meta.metrics is not None:
        write_json(directory / METRICS_FILE, meta.metrics)
    if meta.calibration is not None:
        write_json(directory / CALIBRATION_FILE, meta.calibration)
    (directory / FINGERPRINT_FILE).write_text(meta.fingerprint + "\n", encoding="utf-8")


def read_meta(directory: Path) -> ArtifactMeta:
    """Raises ValueError for an artifact of another format version."""
    directory = Path(directory)
    config = read_json(directory / CONFIG_FILE)
    if config.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory}: unknown artifact format {config.get('format')!r}")
    tags = read_tags(directory)
    by_tag = read_json(directory / THRESHOLDS_FILE)
    thresholds = np.array([by_tag[t.key] for t in tags], dtype=np.float32)
    metrics_path = directory / METRICS_FILE
    metrics = read_json(metrics_path) if metrics_path.exists() else None
    calibration_path = directory / CALIBRATION_FILE
    calibration = read_json(calibration_path) if calibration_path.exists() else None
    fingerprint = (directory / FINGERPRINT_FILE).read_text(encoding="utf-8").strip()
    return ArtifactMeta(
        mode=config["mode"],
        base_model=config["base_model"],
        tags=tags,
        thresholds=thresholds,
        seed=config.get("seed", 0),
        fingerprint=fingerprint,
        metrics=metrics,
        info=config.get("info") or {},
        calibration=calibration,
    )

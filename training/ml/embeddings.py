"""An on-disk embedding cache so that head-mode retraining never re-embeds a text.

One SQLite file per (encoder, max_length): rows keyed by the text's sha256, the
vector stored as raw float32 bytes. SQLite gives atomic, concurrent-safe writes
from several worker processes without a lock file of our own.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .text import text_hash
from .types import ProgressFn, report

if TYPE_CHECKING:
    from .encoder import Encoder

_LOOKUP_CHUNK = 500  # stays under SQLite's bound-parameter limit on old builds


class EmbeddingCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, encoder: Encoder, max_length: int) -> Path:
        identity = f"{encoder.identity}|max_length={max_length}"
        if encoder.precision != "fp32":  # fp32 is the reference; others get their own file
            identity += f"|{encoder.precision}"
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(encoder.name.rstrip("/")).name)[:40]
        return self.directory / f"{slug or 'encoder'}-{digest}.sqlite3"

    def _connect(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        return conn

    def embed(
        self,
        encoder: Encoder,
        texts: Sequence[str],
        progress: ProgressFn | None = None,
        max_length: int = 128,
        batch_size: int = 64,
    ) -> np.ndarray:
        """Embeddings for texts, computing (and storing) only the ones not cached yet."""
        keys = [text_hash(t) for t in texts]
        out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
        conn = self._connect(self.path_for(encoder, max_length))
        try:
            found = self._lookup(conn, sorted(set(keys)), encoder.dim)
            missing: dict[str, str] = {}
            for key, text in zip(keys, texts, strict=True):
                if key not in found:
                    missing.setdefault(key, text)
            if missing:
                missing_keys = list(missing)
                vectors = encoder.embed(
                    [missing[k] for k in missing_keys],
                    batch_size=batch_size,
                    max_length=max_length,
                    progress=progress,
                )
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                        [
                            (k, v.astype(np.float32).tobytes())
                            for k, v in zip(missing_keys, vectors, strict=True)
                        ],
                    )
                found.update(zip(missing_keys, vectors, strict=True))
        finally:
            conn.close()
        for i, key in enumerate(keys):
            out[i] = found[key]
        report(progress, 1.0, "embedding")
        return out

    def _lookup(self, conn: sqlite3.Connection, keys: list[str], dim: int) -> dict:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, blob in conn.execute(
                f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk
            ):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:
                    found[key] = vec
        return found

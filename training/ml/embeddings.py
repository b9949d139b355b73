"""The embedding cache, so that head-mode retraining and re-scoring never re-embed
a text.

Vectors are kept by (space, text hash): the space names the encoder, its max
length and precision (`space_for`), the hash is the text's sha256. Where they are
kept is a `VectorStore`: by default `SqliteVectorStore`, one SQLite file per
space under a directory (each worker its own; SQLite gives atomic,
concurrent-safe writes from several processes on one machine without a lock
file of our own). The training app passes a database-backed store instead when
workers on several machines share one cache (TAGGER_EMBEDDING_CACHE=database).
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

import numpy as np

from .text import text_hash
from .types import ProgressFn, report

if TYPE_CHECKING:
    from .encoder import Encoder

logger = logging.getLogger(__name__)

_LOOKUP_CHUNK = 500  # stays under SQLite's bound-parameter limit on old builds


@runtime_checkable
class VectorStore(Protocol):
    """Raw float32 vectors (bytes) by (space, text hash)."""

    def get_many(self, space: str, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_many(self, space: str, vectors: Sequence[tuple[str, bytes]]) -> None: ...


# What the scorers and training take as their cache: a directory (SQLite files)
# or a store object.
CacheLocation: TypeAlias = Path | VectorStore


class SqliteVectorStore:
    """One SQLite file per space under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, space: str) -> Path:
        return self.directory / f"{space}.sqlite3"

    def _connect(self, space: str) -> sqlite3.Connection:
        path = self.path(space)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        return conn

    def get_many(self, space: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        conn = self._connect(space)
        try:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = list(keys[start : start + _LOOKUP_CHUNK])
                marks = ",".join("?" * len(chunk))
                found.update(
                    conn.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk)
                )
        finally:
            conn.close()
        return found

    def put_many(self, space: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        conn = self._connect(space)
        try:
            with conn:
                conn.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)", vectors)
        finally:
            conn.close()


def space_for(encoder: Encoder, max_length: int) -> str:
    """The cache's name for what an encoder makes of a text: its identity, max
    length and (unless fp32, the reference) precision, hashed, after a readable
    slug of its name."""
    identity = f"{encoder.identity}|max_length={max_length}"
    if encoder.precision != "fp32":  # fp32 is the reference; others get their own space
        identity += f"|{encoder.precision}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(encoder.name.rstrip("/")).name)[:40]
    return f"{slug or 'encoder'}-{digest}"


class EmbeddingCache:
    """Embeddings through a store: found ones are read, the others computed and
    stored. `hits` and `misses` count texts (distinct ones per call) over the
    cache object's life."""

    def __init__(self, location: CacheLocation) -> None:
        self.store: VectorStore = (
            location if isinstance(location, VectorStore) else SqliteVectorStore(Path(location))
        )
        self.hits = 0
        self.misses = 0

    def path_for(self, encoder: Encoder, max_length: int) -> Path:
        """The SQLite file of an encoder's space (a directory-backed cache only)."""
        if not isinstance(self.store, SqliteVectorStore):
            raise TypeError("this embedding cache is not a directory of SQLite files")
        return self.store.path(space_for(encoder, max_length))

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
        space = space_for(encoder, max_length)
        found = self._decode(self.store.get_many(space, sorted(set(keys))), encoder.dim)
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                missing.setdefault(key, text)
        hits = len(found)
        self.hits += hits
        self.misses += len(missing)
        if missing:
            missing_keys = list(missing)
            vectors = encoder.embed(
                [missing[k] for k in missing_keys],
                batch_size=batch_size,
                max_length=max_length,
                progress=progress,
            )
            self.store.put_many(
                space,
                [
                    (k, v.astype(np.float32).tobytes())
                    for k, v in zip(missing_keys, vectors, strict=True)
                ],
            )
            found.update(zip(missing_keys, vectors, strict=True))
        logger.debug("embedding cache %s: %d found, %d computed", space, hits, len(missing))
        for i, key in enumerate(keys):
            out[i] = found[key]
        report(progress, 1.0, "embedding")
        return out

    @staticmethod
    def _decode(blobs: dict[str, bytes], dim: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for key, blob in blobs.items():
            vec = np.frombuffer(blob, dtype=np.float32)
            if vec.shape[0] == dim:
                found[key] = vec
        return found

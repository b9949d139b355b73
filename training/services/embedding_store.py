"""The embedding cache the training app hands to the ML core: a directory of
SQLite files on this worker (TAGGER_EMBEDDING_CACHE=file, the default on one
machine) or the CachedEmbedding table of the shared database (=database), so a
chunk scored on any worker finds the embeddings another worker made."""

from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from training.ml.embeddings import CacheLocation
from training.models import CachedEmbedding

_CHUNK = 500


class DatabaseVectorStore:
    """training.ml.embeddings.VectorStore over the CachedEmbedding table."""

    def get_many(self, space: str, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        keys = list(keys)
        for start in range(0, len(keys), _CHUNK):
            rows = CachedEmbedding.objects.filter(
                space=space, text_hash__in=keys[start : start + _CHUNK]
            ).values_list("text_hash", "vector")
            found.update((key, bytes(vector)) for key, vector in rows)
        return found

    def put_many(self, space: str, vectors: Sequence[tuple[str, bytes]]) -> None:
        # Another worker may have stored the same text meanwhile: same vector, kept.
        # In key order, so two workers inserting overlapping sets inside
        # transactions wait for each other instead of deadlocking.
        CachedEmbedding.objects.bulk_create(
            [
                CachedEmbedding(space=space, text_hash=key, vector=vec)
                for key, vec in sorted(vectors)
            ],
            batch_size=_CHUNK,
            ignore_conflicts=True,
        )


def embedding_cache() -> CacheLocation:
    """What training and scoring use as their embedding cache."""
    if settings.TAGGER_EMBEDDING_CACHE == "database":
        return DatabaseVectorStore()
    return Path(settings.TAGGER_CACHE_DIR) / "embeddings"

"""The lexical channel: word 1-2-gram and character n-gram TF-IDF.

Implemented here rather than with scikit-learn's vectoriser so that its whole
state is a vocabulary and an idf vector (saved as JSON, never pickled) and so
that texts can be analysed with character spans, which evidence needs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from .segment import chinese_words

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_RE = re.compile(r"\w\w+")
# Occlusion units: a Latin word, or a run of CJK ideographs, which is then cut
# into words by segmentation (segment.py).
_UNIT_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|[^\W_{_CJK}]+")
_CHUNK_RE = re.compile(r"\S+")
_CHUNK_CACHE_SIZE = 200_000  # chunks remembered per transform call (memory bound)

TermsFn = Callable[[str], Iterator[str]]


@dataclass
class LexicalConfig:
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)
    min_df: int = 2
    max_word_features: int = 60_000
    max_char_features: int = 60_000
    word_weight: float = 1.0
    char_weight: float = 1.0


def words(text: str) -> list[str]:
    return [m.group(0).lower() for m in _WORD_RE.finditer(text)]


def word_terms(text: str, ngrams: tuple[int, int]) -> Iterator[str]:
    tokens = words(text)
    low, high = ngrams
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            yield tokens[i] if n == 1 else " ".join(tokens[i : i + n])


def char_terms(text: str, ngrams: tuple[int, int]) -> Iterator[str]:
    """Character n-grams inside space-padded chunks (scikit-learn's 'char_wb')."""
    for chunk in _CHUNK_RE.findall(text.lower()):
        yield from chunk_char_terms(chunk, ngrams)


def chunk_char_terms(chunk: str, ngrams: tuple[int, int]) -> Iterator[str]:
    """The character n-grams of one whitespace-free, lower-cased chunk."""
    low, high = ngrams
    padded = f" {chunk} "
    for n in range(low, high + 1):
        if n > len(padded):
            break
        for i in range(len(padded) - n + 1):
            yield padded[i : i + n]


def occlusion_units(text: str) -> list[tuple[int, int]]:
    """Character spans of the pieces of text that evidence may point at: words,
    Chinese ones found by segmentation."""
    units: list[tuple[int, int]] = []
    for match in _UNIT_RE.finditer(text):
        if match.group("cjk"):
            units.extend(chinese_words(match.group(), match.start()))
        else:
            units.append(match.span())
    return units


@dataclass
class _Channel:
    vocab: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


class LexicalFeaturizer:
    """Sublinear-tf, smoothed-idf, per-channel L2-normalised TF-IDF."""

    def __init__(self, config: LexicalConfig | None = None) -> None:
        self.config = config or LexicalConfig()
        self.word = _Channel()
        self.char = _Channel()

    @property
    def n_features(self) -> int:
        return len(self.word.vocab) + len(self.char.vocab)

    def _word_terms(self, text: str) -> Iterator[str]:
        return word_terms(text, self.config.word_ngrams)

    def _char_terms(self, text: str) -> Iterator[str]:
        return char_terms(text, self.config.char_ngrams)

    def fit(self, texts: Sequence[str]) -> LexicalFeaturizer:
        cfg = self.config
        self.word = _fit_channel(texts, self._word_terms, cfg.min_df, cfg.max_word_features)
        self.char = _fit_channel(texts, self._char_terms, cfg.min_df, cfg.max_char_features)
        return self

    def _word_indices(self, text: str) -> Iterator[int]:
        vocab = self.word.vocab
        return (j for j in map(vocab.get, self._word_terms(text)) if j is not None)

    def _char_indices(self, text: str, cache: dict[str, list[int]]) -> list[int]:
        """The character channel's vocabulary indices of a text, chunk by chunk.
        Chunks repeat (a catalogue's words; above all the occlusion variants of
        one text, which differ by a single blanked word), so each chunk's
        indices are computed once per transform call."""
        vocab, ngrams = self.char.vocab, self.config.char_ngrams
        indices: list[int] = []
        for chunk in _CHUNK_RE.findall(text.lower()):
            known = cache.get(chunk)
            if known is None:
                if len(cache) >= _CHUNK_CACHE_SIZE:
                    cache.clear()
                terms = chunk_char_terms(chunk, ngrams)
                known = cache[chunk] = [j for j in map(vocab.get, terms) if j is not None]
            indices.extend(known)
        return indices

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        cfg = self.config
        cache: dict[str, list[int]] = {}
        word = _transform_channel(texts, self._word_indices, self.word)
        char = _transform_channel(texts, lambda t: self._char_indices(t, cache), self.char)
        return sp.hstack(
            [word * cfg.word_weight, char * cfg.char_weight], format="csr", dtype=np.float32
        )

    def state(self) -> dict:
        """Everything needed to rebuild the featurizer, as JSON-serialisable data."""
        cfg = asdict(self.config)
        return {
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
            "word_vocab": _vocab_list(self.word.vocab),
            "word_idf": self.word.idf.tolist(),
            "char_vocab": _vocab_list(self.char.vocab),
            "char_idf": self.char.idf.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict) -> LexicalFeaturizer:
        raw = dict(state["config"])
        for key in ("word_ngrams", "char_ngrams"):
            raw[key] = tuple(raw[key])
        featurizer = cls(LexicalConfig(**raw))
        featurizer.word = _Channel(
            {t: i for i, t in enumerate(state["word_vocab"])},
            np.asarray(state["word_idf"], dtype=np.float32),
        )
        featurizer.char = _Channel(
            {t: i for i, t in enumerate(state["char_vocab"])},
            np.asarray(state["char_idf"], dtype=np.float32),
        )
        return featurizer


def _vocab_list(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for term, index in vocab.items():
        terms[index] = term
    return terms


def _fit_channel(
    texts: Sequence[str], terms_of: TermsFn, min_df: int, max_features: int
) -> _Channel:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(terms_of(text)))
    # Ties broken by the term itself so the vocabulary never depends on set order.
    kept = sorted((t for t, c in df.items() if c >= min_df), key=lambda t: (-df[t], t))
    kept = sorted(kept[:max_features])
    n = len(texts)
    idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float32)
    return _Channel({t: i for i, t in enumerate(kept)}, idf)


def _transform_channel(
    texts: Sequence[str], indices_of: Callable[[str], Iterable[int]], channel: _Channel
) -> sp.csr_matrix:
    """Rows of sublinear tf x idf, L2-normalised, computed for the whole batch
    at once with numpy (per-term Python arithmetic cost more than finding the
    terms)."""
    n, width = len(texts), len(channel.vocab)
    found = [np.fromiter(indices_of(text), dtype=np.int64) for text in texts]
    lengths = np.fromiter((len(f) for f in found), dtype=np.int64, count=n)
    if not lengths.sum():
        return sp.csr_matrix((n, width), dtype=np.float32)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    # One key per (row, term): unique sorts by row, then by term within a row.
    keys, counts = np.unique(rows * width + np.concatenate(found), return_counts=True)
    row, col = np.divmod(keys, width)
    weights = (1.0 + np.log(counts)) * channel.idf[col].astype(np.float64)
    norms = np.sqrt(np.bincount(row, weights * weights, minlength=n))
    norms[norms == 0] = 1.0
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=n))])
    return sp.csr_matrix(((weights / norms[row]).astype(np.float32), col, indptr), shape=(n, width))

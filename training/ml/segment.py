"""Chinese word segmentation (jieba, with the dictionary its package ships) for
the units that evidence points at: Chinese has no spaces, and fixed-width
character blocks cut across words (变频挂机 into 变频 / 挂机 is right, 频挂 is not).

jieba is imported, and its dictionary loaded (about a second, once per process),
on first use only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it logs every dictionary load
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
    return _tokenizer


def chinese_words(run: str, offset: int = 0) -> list[tuple[int, int]]:
    """[start, end) spans of the words of a run of Chinese text, shifted by offset."""
    if not run:
        return []
    return [(offset + start, offset + end) for _, start, end in _jieba().tokenize(run)]

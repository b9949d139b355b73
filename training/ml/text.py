"""Text cleaning shared by import, training and inference (no Django here)."""

import hashlib
import html
import re
import unicodedata

# `[^<>]` keeps every scan local: a stray "<" stops at the next "<", so hostile
# input with thousands of unclosed tags stays linear instead of quadratic.
_TAG_RE = re.compile(r"<[^<>]*>")
_SCRIPT_OPEN_RE = re.compile(r"<(script|style)\b", re.IGNORECASE)
_TAG_REST_RE = re.compile(r"[^<>]*>?")
_WS_RE = re.compile(r"\s+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Invisible format characters that carry meaning and so survive cleaning: the
# zero-width joiner (emoji sequences such as the family, Indic conjuncts), the
# zero-width non-joiner (Persian words such as "mi-khaham", I want) and the tag
# characters of subdivision flags. Variation selectors are marks, not format
# characters, and stay anyway.
# Every other non-printable character (NUL, bidi overrides, zero-width spaces)
# still becomes a space; a soft hyphen, only a hyphenation hint, is dropped.
_ZWNJ, _ZWJ, _SOFT_HYPHEN = "\u200c", "\u200d", "\u00ad"
_TAG_CHARS = range(0xE0020, 0xE0080)


def clean_text(value: str) -> str:
    """Strip HTML (dropping script/style bodies), unescape entities, apply
    Unicode NFKC (full-width forms become half-width), replace control and
    invisible characters with spaces (keeping the meaningful joiners) and
    fold whitespace."""
    if not value:
        return ""
    text = _drop_script_bodies(value)
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text)
    # Unescaping can reveal markup that was entity-encoded; it stays inert text
    # for the model, and templates escape it on output.
    text = unicodedata.normalize("NFKC", text)
    text = _WS_RE.sub(" ", text)
    if not text.isprintable():  # rare: most text has nothing invisible left
        text = _WS_RE.sub(" ", "".join(map(_keep, text)))
    return text.strip()


def _keep(ch: str) -> str:
    """The character as cleaned text keeps it (see _ZWJ and the others above)."""
    if ch.isprintable() or ch in (_ZWJ, _ZWNJ) or ord(ch) in _TAG_CHARS:
        return ch
    return "" if ch == _SOFT_HYPHEN else " "


def _drop_script_bodies(value: str) -> str:
    """Remove <script>/<style> elements with their bodies, in one pass.

    An unclosed element loses only its opening tag (the rest is kept as text),
    and a missing closing tag is searched for once, not once per opening tag.
    """
    lower = value.lower()
    parts: list[str] = []
    pos = 0
    unclosed_from: dict[str, int] = {}
    while (match := _SCRIPT_OPEN_RE.search(value, pos)) is not None:
        name = match.group(1).lower()
        closing = -1
        if match.end() < unclosed_from.get(name, len(value) + 1):
            closing = lower.find(f"</{name}", match.end())
            if closing == -1:
                unclosed_from[name] = match.end()
        parts.append(value[pos : match.start()])
        parts.append(" ")
        if closing == -1:
            rest = _TAG_REST_RE.match(value, match.end())
            pos = rest.end() if rest else match.end()
            continue
        end = lower.find(">", closing)
        pos = len(value) if end == -1 else end + 1
    parts.append(value[pos:])
    return "".join(parts)


def product_text(title: str, description: str = "") -> str:
    """What the model reads: cleaned title, then cleaned description."""
    title = clean_text(title)
    description = clean_text(description)
    return f"{title} {description}".strip() if description else title


def detect_language(text: str) -> str:
    """'zh' when a meaningful share of letters are CJK ideographs, else 'en'."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return ""
    cjk = sum(1 for ch in letters if _CJK_RE.match(ch))
    return "zh" if cjk / len(letters) >= 0.2 else "en"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

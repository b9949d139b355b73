"""The byte layer of an import: the peekable upload stream, what the first
bytes say (gzip, a binary file uploaded by mistake, which data format), and
UTF-8 decoding line by line with the byte offset of each problem.

Every read is bounded: `Metered` stops a stream past the inflated-size cap (a
gzip bomb), and `LineSource` never holds a line longer than the line cap.
Nothing here parses rows or touches the database; problems with the whole
file raise `ImportFileError`.
"""

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from typing import IO

from annotation.errors import ImportFileError
from annotation.services.importing.limits import size_text

FORMATS = ("csv", "jsonl", "json")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
# Signatures of files people upload by mistake, and the words we use for them.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: save it as CSV)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (save it as CSV)"),
    (b"BZh", "a bzip2 archive (only gzip compression is supported)"),
    (b"\xfd7zXZ", "an xz archive (only gzip compression is supported)"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024
NOT_A_DATA_FILE = "this is not a CSV/JSON/JSONL file"


class Metered:
    """A binary stream that counts the bytes read from it and raises
    ImportFileError (line 0) once they pass `limit`: no read asks for more
    than one byte over what is left, so a gzip bomb inflates that far only."""

    def __init__(self, raw: IO[bytes] | gzip.GzipFile, limit: int, compressed: bool) -> None:
        self._raw = raw
        self._limit = limit
        self._compressed = compressed
        self.count = 0

    def _bounded(self, size: int) -> int:
        left = self._limit - self.count + 1
        return left if size < 0 else min(size, left)

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self._limit:
            limit = size_text(self._limit)
            raise ImportFileError(
                0,
                (
                    f"the data is over {limit} once decompressed, the most one import "
                    "reads (a file that inflates this much is refused)"
                    if self._compressed
                    else f"the file is over {limit}, the most one import reads"
                )
                + "; split the catalogue into smaller files",
            )
        return data

    def read(self, size: int = -1) -> bytes:
        return self._counted(self._raw.read(self._bounded(size)))

    def readline(self, size: int = -1) -> bytes:
        return self._counted(self._raw.readline(self._bounded(size)))


class Peekable:
    """A binary stream whose first bytes we can look at before reading it."""

    def __init__(self, raw: IO[bytes] | Metered) -> None:
        self._raw = raw
        self._head = b""

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            chunk = self._raw.read(size - len(self._head))
            if not chunk:
                break
            self._head += chunk
        return self._head[:size]

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data, self._head = self._head + self._raw.read(), b""
            return data
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readline(self, size: int = -1) -> bytes:
        """One line, or its first `size` bytes when it is longer."""
        if self._head:
            end = len(self._head) if size < 0 else min(size, len(self._head))
            index = self._head.find(b"\n", 0, end)
            if index >= 0:
                line, self._head = self._head[: index + 1], self._head[index + 1 :]
                return line
            if size >= 0 and len(self._head) >= size:
                line, self._head = self._head[:size], self._head[size:]
                return line
            line, self._head = self._head, b""
            return line + self._raw.readline(-1 if size < 0 else size - len(line))
        return self._raw.readline(size)


def describe_binary(head: bytes) -> str | None:
    """What a file that is not text looks like ("a PNG image"), or None."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16 text (save the file as UTF-8)"
    if b"\x00" in head[:SNIFF_BYTES]:
        return "a binary file"
    return None


def _strip_gz(filename: str) -> str:
    lower = filename.lower()
    for suffix in (".gz", ".gzip"):
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def format_from_name(filename: str | None) -> str | None:
    """The format its extension names (".gz" aside), or None."""
    if not filename:
        return None
    name = _strip_gz(filename)
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    return None


def sniff_format(head: bytes) -> str:
    """The format the first bytes suggest when the name does not say."""
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        first_line = text.split("\n", 1)[0]
        try:
            first = json.loads(first_line)
        except ValueError:
            # A pretty-printed object spans lines: a JSON document, not JSONL.
            return "json"
        if isinstance(first, dict) and isinstance(first.get("products"), list):
            return "json"
        return "jsonl"
    return "csv"


def line_too_long(line: int, limit: int) -> ImportFileError:
    return ImportFileError(
        line,
        f"the line is longer than {size_text(limit)}, the most one product may take "
        "(is this really a CSV or JSON Lines file, with one product a line?)",
    )


def read_guarded(stream: Peekable, line: int, size: int, *, whole_line: bool) -> bytes:
    """`stream.readline(size)` (or `read(size)`), with broken gzip data and the
    inflated-size cap reported as ImportFileError at `line`."""
    try:
        return stream.readline(size) if whole_line else stream.read(size)
    except EOFError as exc:
        raise ImportFileError(
            line,
            "the gzip file is truncated: it ends in the middle of the data "
            "(was the upload or download cut short?)",
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(line, "the gzip data is corrupt") from exc
    except ImportFileError as exc:
        if exc.line:
            raise
        raise ImportFileError(line, exc.reason) from exc


class LineSource:
    """Physical lines of a byte stream, decoded as UTF-8, with the line number
    and the byte offset where each starts; a line over `max_bytes` stops the
    file (ImportFileError) before more of it is read."""

    def __init__(self, stream: Peekable, compressed: bool, max_bytes: int) -> None:
        self._stream = stream
        self._compressed = compressed
        self._max = max_bytes
        self.line = 0
        self.offset = 0

    def __iter__(self) -> Iterator[tuple[int, str, str | None]]:
        """Yield (line number, text, error or None); on a decoding error the
        text has replacement characters so a CSV parser can keep its place."""
        while True:
            raw = read_guarded(self._stream, self.line + 1, self._max + 1, whole_line=True)
            if not raw:
                return
            if len(raw) > self._max and not raw.endswith(b"\n"):
                raise line_too_long(self.line + 1, self._max)
            self.line += 1
            start = self.offset
            self.offset += len(raw)
            if self.line == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
                start += len(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                what = "decompressed data" if self._compressed else "file"
                yield (
                    self.line,
                    raw.decode("utf-8", errors="replace"),
                    (
                        f"invalid UTF-8 at byte offset {start + exc.start} of the {what} "
                        "(save the file with UTF-8 encoding)"
                    ),
                )
                continue
            yield self.line, text, None

"""Turn an uploaded byte stream into raw rows: gzip detection, format
detection, UTF-8 decoding with byte offsets, and the CSV / JSON / JSONL readers.

Readers never touch the database. Problems with one row are yielded as a
`RawRow` with an error; problems with the whole file raise `ImportFileError`.
"""

import codecs
import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

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
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024
NOT_A_DATA_FILE = "this is not a CSV/JSON/JSONL file"


def _no_constant(name: str) -> Any:
    # PostgreSQL's jsonb refuses them, and no catalogue means them.
    raise ValueError(f"{name} is not a valid JSON value")


def loads(text: str | bytes) -> Any:
    """json.loads without NaN and Infinity; raises ValueError."""
    return json.loads(text, parse_constant=_no_constant)


class ImportFileError(Exception):
    """The file as a whole cannot be read; `line` is 0 when no line is to blame."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class RawRow:
    line: int
    data: dict[str, Any] | None = None
    error: str | None = None


class _Peekable:
    """A binary stream whose first bytes we can look at before reading it."""

    def __init__(self, raw: IO[bytes]) -> None:
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

    def readline(self) -> bytes:
        if self._head:
            index = self._head.find(b"\n")
            if index >= 0:
                line, self._head = self._head[: index + 1], self._head[index + 1 :]
                return line
            line, self._head = self._head, b""
            return line + self._raw.readline()
        return self._raw.readline()


def _describe_binary(head: bytes) -> str | None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16 text (save the file as UTF-8)"
    if b"\x00" in head[:_SNIFF_BYTES]:
        return "a binary file"
    return None


def _strip_gz(filename: str) -> str:
    lower = filename.lower()
    for suffix in (".gz", ".gzip"):
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def format_from_name(filename: str | None) -> str | None:
    if not filename:
        return None
    name = _strip_gz(filename)
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    return None


def _sniff_format(head: bytes) -> str:
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


class _LineSource:
    """Physical lines of a byte stream, decoded as UTF-8, with the line number
    and the byte offset where each starts."""

    def __init__(self, stream: _Peekable | gzip.GzipFile, compressed: bool) -> None:
        self._stream = stream
        self._compressed = compressed
        self.line = 0
        self.offset = 0

    def __iter__(self) -> Iterator[tuple[int, str, str | None]]:
        """Yield (line number, text, error or None); on a decoding error the
        text has replacement characters so a CSV parser can keep its place."""
        while True:
            try:
                raw = self._stream.readline()
            except EOFError as exc:
                raise ImportFileError(
                    self.line + 1,
                    "the gzip file is truncated: it ends in the middle of the data "
                    "(was the upload or download cut short?)",
                ) from exc
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise ImportFileError(self.line + 1, "the gzip data is corrupt") from exc
            if not raw:
                return
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


@dataclass
class DataFile:
    format: str
    compressed: bool
    _body: _Peekable

    def rows(self) -> Iterator[RawRow]:
        """Raw rows in file order; raises ImportFileError for whole-file problems.
        For CSV the first row yielded is the header: data {COLUMNS_KEY: [...]}."""
        if self.format == "json":
            yield from _json_rows(self._body)
        elif self.format == "jsonl":
            yield from _jsonl_rows(_LineSource(self._body, self.compressed))
        else:
            yield from _csv_rows(_LineSource(self._body, self.compressed))


COLUMNS_KEY = "\x00columns"


def open_data_file(stream: IO[bytes], *, filename: str | None, fmt: str | None) -> DataFile:
    """Look at the first bytes: gzip or not, a data file or something else, and
    which format. Raises ImportFileError for empty, binary or unknown files."""
    if fmt is not None and fmt not in FORMATS:
        raise ImportFileError(0, f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    outer = _Peekable(stream)
    head = outer.peek(_SNIFF_BYTES)
    if not head:
        raise ImportFileError(0, "the file is empty")
    compressed = head.startswith(_GZIP_MAGIC)
    body = outer
    if compressed:
        body = _Peekable(gzip.GzipFile(fileobj=outer, mode="rb"))  # type: ignore[arg-type]
        try:
            head = body.peek(_SNIFF_BYTES)
        except EOFError as exc:
            raise ImportFileError(
                1, "the gzip file is truncated: it ends before its first line is complete"
            ) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise ImportFileError(0, "the gzip data is corrupt") from exc
    what = _describe_binary(head)
    if what:
        raise ImportFileError(0, f"{NOT_A_DATA_FILE} (it looks like {what})")
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise ImportFileError(0, "the file is empty")
    chosen = fmt or format_from_name(filename) or _sniff_format(head)
    return DataFile(format=chosen, compressed=compressed, _body=body)


def _read_all(body: _Peekable) -> bytes:
    try:
        return body.read()
    except EOFError as exc:
        raise ImportFileError(
            0,
            "the gzip file is truncated: it ends in the middle of the data "
            "(was the upload or download cut short?)",
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(0, "the gzip data is corrupt") from exc


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number"


def _json_rows(body: _Peekable) -> Iterator[RawRow]:
    data = _read_all(body).removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(
            line, f"invalid UTF-8 at byte offset {exc.start} (save the file with UTF-8 encoding)"
        ) from exc
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            exc.lineno, f"the JSON is malformed: {exc.msg} (column {exc.colno})"
        ) from exc
    except ValueError as exc:
        raise ImportFileError(0, f"the JSON is malformed: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("products"), list):
        items = document["products"]
    elif isinstance(document, list):
        items = document
    else:
        raise ImportFileError(
            1,
            'a JSON file must hold a list of products, or an object with a "products" '
            f"list; this one holds {_json_type(document)}",
        )
    for index, item in enumerate(items, start=1):
        if isinstance(item, dict):
            yield RawRow(index, item)
        else:
            yield RawRow(
                index, error=f"expected a JSON object for a product, found {_json_type(item)}"
            )


def _jsonl_rows(lines: _LineSource) -> Iterator[RawRow]:
    for line, text, error in lines:
        if error:
            yield RawRow(line, error=error)
            continue
        if not text.strip():
            continue
        try:
            item = loads(text)
        except json.JSONDecodeError as exc:
            yield RawRow(line, error=f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        except ValueError as exc:
            yield RawRow(line, error=f"malformed JSON: {exc}")
            continue
        if isinstance(item, dict):
            yield RawRow(line, item)
        else:
            yield RawRow(
                line, error=f"expected a JSON object for a product, found {_json_type(item)}"
            )


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(lines: _LineSource) -> Iterator[RawRow]:
    # A 1 MB cell must reach validation (and get a clear message) instead of
    # tripping the csv module's 128 KiB default.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    bad_lines: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for line, text, error in lines:
            if error:
                bad_lines[line] = error
            yield text

    texts = text_lines()
    first = ""
    for first in texts:
        if first.strip():
            break
    if not first.strip():
        raise ImportFileError(0, "the file is empty")
    header_line = lines.line
    if header_line in bad_lines:
        raise ImportFileError(header_line, f"the header row has {bad_lines[header_line]}")

    def chained() -> Iterator[str]:
        yield first
        yield from texts

    reader = csv.reader(chained(), delimiter=_delimiter(first))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFileError(header_line, f"the header row is not valid CSV: {exc}") from exc
    columns = _header_columns(header, header_line)
    yield RawRow(header_line, {COLUMNS_KEY: columns})
    consumed = header_line - 1 + reader.line_num
    while True:
        start = consumed + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            consumed = header_line - 1 + reader.line_num
            yield RawRow(start, error=f"not valid CSV: {exc}")
            continue
        consumed = header_line - 1 + reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        bad = [bad_lines[n] for n in range(start, consumed + 1) if n in bad_lines]
        if bad:
            yield RawRow(start, error=bad[0])
        elif len(record) != len(columns):
            yield RawRow(
                start,
                error=f"the row has {len(record)} values but the header has "
                f"{len(columns)} columns (check the quoting and the separators)",
            )
        else:
            yield RawRow(start, dict(zip(columns, record, strict=True)))


def _header_columns(header: list[str], line: int) -> list[str]:
    columns = []
    seen: set[str] = set()
    for index, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{index}"
        if name.casefold() in seen:
            raise ImportFileError(line, f"the column {name!r} appears twice in the header")
        seen.add(name.casefold())
        columns.append(name)
    return columns

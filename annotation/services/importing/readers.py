"""Turn an opened upload into raw rows: the CSV, JSON and JSONL readers.

streams.py decides what the bytes are and decodes them; here each format is
parsed into `RawRow`s. Readers never touch the database, and hold one line
(or one JSON element, or one CSV row) at a time, within `ImportLimits`.
Problems with one row are yielded as a `RawRow` with an error; problems with
the whole file raise `ImportFileError`.
"""

import codecs
import csv
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from annotation.errors import ImportFileError
from annotation.services.importing.json_stream import json_items
from annotation.services.importing.json_values import json_type_name, loads
from annotation.services.importing.limits import ImportLimits, size_text
from annotation.services.importing.streams import (
    FORMATS,
    GZIP_MAGIC,
    NOT_A_DATA_FILE,
    SNIFF_BYTES,
    LineSource,
    Metered,
    Peekable,
    describe_binary,
    format_from_name,
    sniff_format,
)


@dataclass
class RawRow:
    line: int
    data: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class DataFile:
    format: str
    compressed: bool
    limits: ImportLimits
    _body: Peekable
    _raw: Metered

    @property
    def bytes_read(self) -> int:
        """How much of the file (as stored, compressed or not) has been read."""
        return self._raw.count

    def rows(self) -> Iterator[RawRow]:
        """Raw rows in file order; raises ImportFileError for whole-file problems.
        For CSV the first row yielded is the header: data {COLUMNS_KEY: [...]}."""
        line_bytes = self.limits.line_bytes
        if self.format == "json":
            yield from _json_rows(self._body, line_bytes)
        elif self.format == "jsonl":
            yield from _jsonl_rows(LineSource(self._body, self.compressed, line_bytes))
        else:
            yield from _csv_rows(LineSource(self._body, self.compressed, line_bytes), self.limits)


COLUMNS_KEY = "\x00columns"


def open_data_file(
    stream: IO[bytes], *, filename: str | None, fmt: str | None, limits: ImportLimits
) -> DataFile:
    """Look at the first bytes: gzip or not, a data file or something else, and
    which format. Raises ImportFileError for empty, binary or unknown files."""
    if fmt is not None and fmt not in FORMATS:
        raise ImportFileError(0, f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    raw = Metered(stream, limits.inflated_bytes, compressed=False)
    outer = Peekable(raw)
    head = outer.peek(SNIFF_BYTES)
    if not head:
        raise ImportFileError(0, "the file is empty")
    compressed = head.startswith(GZIP_MAGIC)
    body = outer
    if compressed:
        inflated = gzip.GzipFile(fileobj=outer, mode="rb")  # type: ignore[call-overload]  # no seek(): reading never seeks
        body = Peekable(Metered(inflated, limits.inflated_bytes, compressed=True))
        try:
            head = body.peek(SNIFF_BYTES)
        except EOFError as exc:
            raise ImportFileError(
                1, "the gzip file is truncated: it ends before its first line is complete"
            ) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise ImportFileError(0, "the gzip data is corrupt") from exc
    what = describe_binary(head)
    if what:
        raise ImportFileError(0, f"{NOT_A_DATA_FILE} (it looks like {what})")
    if not head.removeprefix(codecs.BOM_UTF8).strip():
        raise ImportFileError(0, "the file is empty")
    chosen = fmt or format_from_name(filename) or sniff_format(head)
    return DataFile(format=chosen, compressed=compressed, limits=limits, _body=body, _raw=raw)


def _json_rows(body: Peekable, max_value: int) -> Iterator[RawRow]:
    for index, item in enumerate(json_items(body, max_value), start=1):
        if isinstance(item, dict):
            yield RawRow(index, item)
        else:
            yield RawRow(
                index, error=f"expected a JSON object for a product, found {json_type_name(item)}"
            )


def _jsonl_rows(lines: LineSource) -> Iterator[RawRow]:
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
                line, error=f"expected a JSON object for a product, found {json_type_name(item)}"
            )


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(lines: LineSource, limits: ImportLimits) -> Iterator[RawRow]:
    # A 1 MB cell must reach validation (and get a clear message) instead of
    # tripping the csv module's 128 KiB default; a row is bounded below.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024, limits.line_bytes))
    bad_lines: dict[int, str] = {}
    # A row may span lines (a quoted newline); together they stay under the cap.
    row_start, row_chars = 1, 0

    def text_lines() -> Iterator[str]:
        nonlocal row_chars
        for line, text, error in lines:
            if error:
                bad_lines[line] = error
            row_chars += len(text)
            if row_chars > limits.line_bytes:
                raise ImportFileError(
                    row_start,
                    f"the row is longer than {size_text(limits.line_bytes)} (it runs on to "
                    f'line {line:,}); is a quote (") left open?',
                )
            yield text

    texts = text_lines()
    first = _first_non_blank(texts)
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
    columns = _header_columns(header, header_line, limits.columns)
    yield RawRow(header_line, {COLUMNS_KEY: columns})
    consumed = header_line - 1 + reader.line_num
    while True:
        start = consumed + 1
        row_start, row_chars = start, 0
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
        yield _csv_record(record, columns, range(start, consumed + 1), bad_lines)


def _first_non_blank(texts: Iterator[str]) -> str:
    """Consume `texts` up to and including the first line that is not blank."""
    first = ""
    for first in texts:
        if first.strip():
            break
    if not first.strip():
        raise ImportFileError(0, "the file is empty")
    return first


def _csv_record(
    record: list[str], columns: list[str], span: range, bad_lines: dict[int, str]
) -> RawRow:
    """One non-blank CSV record spanning the file lines `span`: a row of values
    by column, or an error when a line failed to decode or the count is off."""
    start = span.start
    bad = [bad_lines[n] for n in span if n in bad_lines]
    if bad:
        return RawRow(start, error=bad[0])
    if len(record) != len(columns):
        return RawRow(
            start,
            error=f"the row has {len(record)} values but the header has "
            f"{len(columns)} columns (check the quoting and the separators)",
        )
    return RawRow(start, dict(zip(columns, record, strict=True)))


def _header_columns(header: list[str], line: int, max_columns: int) -> list[str]:
    if len(header) > max_columns:
        raise ImportFileError(
            line,
            f"the header has {len(header):,} columns; the limit is {max_columns:,} "
            "(every column that is not a product field becomes an attribute)",
        )
    columns = []
    seen: set[str] = set()
    for index, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{index}"
        if name.casefold() in seen:
            raise ImportFileError(line, f"the column {name!r} appears twice in the header")
        seen.add(name.casefold())
        columns.append(name)
    return columns

"""A JSON document read one product at a time, so its size costs no memory:
the elements of a top-level list, or of the "products" list of a top-level
object, each decoded on its own from a sliding window of text that never holds
much more than one element (at most the line cap, ImportLimits.line_bytes).

Errors name the line and column as json.loads would; anything wrong with the
document raises ImportFileError.
"""

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

from annotation.errors import ImportFileError
from annotation.services.importing.json_values import DECODER, TOO_DEEP, json_type_name
from annotation.services.importing.limits import size_text
from annotation.services.importing.streams import Peekable, read_guarded

CHUNK = 64 * 1024
_BLANK_RE = re.compile(r"[ \t\n\r]*")
# What may still follow a number that looks complete ("12" of "12.5e3").
_NUMBER_TAIL_RE = re.compile(r"[0-9eE.+\-]*")


def not_a_list(what: str) -> str:
    return (
        'a JSON file must hold a list of products, or an object with a "products" '
        f"list; this one holds {what}"
    )


class _Window:
    """The decoded text of a byte stream, from the value being read onwards;
    `pos` is the next character to read in `buf`."""

    def __init__(self, body: Peekable, max_value: int) -> None:
        self._body = body
        self._max = max_value
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._bytes = 0
        self._newline_bytes = 0
        self._lines_dropped = 0
        self._column_dropped = 0
        self._started = False
        self.eof = False
        self.buf = ""
        self.pos = 0

    # -- positions ------------------------------------------------------------------

    def position(self, index: int) -> tuple[int, int]:
        """(line, column) of buf[index] in the document, 1-based like json's."""
        newlines = self.buf.count("\n", 0, index)
        if newlines:
            return self._lines_dropped + newlines + 1, index - self.buf.rfind("\n", 0, index)
        return self._lines_dropped + 1, self._column_dropped + index + 1

    def malformed(self, message: str, index: int | None = None) -> ImportFileError:
        line, column = self.position(self.pos if index is None else index)
        return ImportFileError(line, f"the JSON is malformed: {message} (column {column})")

    # -- reading --------------------------------------------------------------------

    def _drop_consumed(self) -> None:
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self._lines_dropped += newlines
            self._column_dropped = len(dropped) - dropped.rfind("\n") - 1
        else:
            self._column_dropped += len(dropped)
        self.buf = self.buf[self.pos :]
        self.pos = 0

    def fill(self) -> bool:
        """Read more text; False when the file has ended and nothing was added
        (then the window is as it was, so positions in it still hold)."""
        if self.eof:
            return False
        size = max(CHUNK, len(self.buf) - self.pos)
        data = read_guarded(self._body, self.position(len(self.buf))[0], size, whole_line=False)
        pending = self._decoder.getstate()[0]
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            joined = pending + data
            offset = self._bytes - len(pending) + exc.start
            line = self._newline_bytes + joined.count(b"\n", 0, exc.start) + 1
            raise ImportFileError(
                line, f"invalid UTF-8 at byte offset {offset} (save the file with UTF-8 encoding)"
            ) from exc
        self._bytes += len(data)
        self._newline_bytes += data.count(b"\n")
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        self.eof = not data
        if text:
            self._drop_consumed()
            self.buf += text
        return bool(text) or not self.eof

    def peek(self) -> str:
        """The next character that is not blank ("" at the end of the file)."""
        while True:
            match = _BLANK_RE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def _too_large(self) -> ImportFileError:
        return ImportFileError(
            self.position(self.pos)[0],
            f"a JSON value here is over {size_text(self._max)}, the most one product may take",
        )

    def _grow(self) -> bool:
        """More text for the value that starts at `pos`; False at the end."""
        if len(self.buf) - self.pos > self._max:
            raise self._too_large()
        return self.fill()

    def value(self) -> Any:
        """The JSON value at `pos` (after blanks), read whole and at most the cap."""
        self.peek()
        while True:
            try:
                value, end = DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._grow():
                    continue
                raise self.malformed(exc.msg, exc.pos) from exc
            except RecursionError as exc:
                raise ImportFileError(self.position(self.pos)[0], TOO_DEEP) from exc
            except ValueError as exc:  # NaN, Infinity
                raise self.malformed(str(exc)) from exc
            # A number at the end of the window may go on in the next chunk.
            tail = _NUMBER_TAIL_RE.match(self.buf, end)
            if tail is not None and tail.end() == len(self.buf) and self._grow():
                continue
            if end - self.pos > self._max:
                raise self._too_large()
            self.pos = end
            return value

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.malformed(message)
        self.pos += 1


def _array(window: _Window) -> Iterator[Any]:
    window.expect("[", "Expecting value")
    if window.peek() == "]":
        window.pos += 1
        return
    while True:
        yield window.value()
        following = window.peek()
        if following not in (",", "]"):
            raise window.malformed("Expecting ',' delimiter")
        window.pos += 1
        if following == "]":
            return


def _object_products(window: _Window) -> Iterator[Any]:
    """The elements of the object's "products" list; the other keys are read
    and dropped. ImportFileError when there is no such list."""
    window.expect("{", "Expecting value")
    found = False
    if window.peek() == "}":
        window.pos += 1
    else:
        while True:
            if window.peek() != '"':
                raise window.malformed("Expecting property name enclosed in double quotes")
            key = window.value()
            window.expect(":", "Expecting ':' delimiter")
            if key == "products" and window.peek() == "[" and not found:
                found = True
                yield from _array(window)
            else:
                window.value()
            following = window.peek()
            if following not in (",", "}"):
                raise window.malformed("Expecting ',' delimiter")
            window.pos += 1
            if following == "}":
                break
    if not found:
        raise ImportFileError(1, not_a_list("an object"))


def json_items(body: Peekable, max_value: int) -> Iterator[Any]:
    """The products of a JSON document, one value at a time, in order."""
    window = _Window(body, max_value)
    first = window.peek()
    if first == "[":
        yield from _array(window)
    elif first == "{":
        yield from _object_products(window)
    else:
        raise ImportFileError(1, not_a_list(json_type_name(window.value())))
    if window.peek():
        raise window.malformed("Extra data")

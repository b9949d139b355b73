"""The API's JSON parser: DRF's, with a size and a nesting limit, so a body of
a million nested brackets or of gigabytes is a 400 and never a RecursionError
(a 500) or a worker that runs out of memory."""

import codecs
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def nesting_depth(value: Any, limit: int) -> int:
    """How deep arrays and objects nest in a parsed document (a scalar is 0),
    counted without recursion; stops counting once past `limit`."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class LimitedJSONParser(JSONParser):
    """JSON bodies of at most TAGGER_MAX_JSON_BYTES, nested at most
    TAGGER_MAX_JSON_DEPTH deep; anything else is a ParseError (400)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.TAGGER_MAX_JSON_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"The JSON body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=self._no_constant)
        except RecursionError as exc:
            raise ParseError(self._too_deep()) from exc
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_depth(data, settings.TAGGER_MAX_JSON_DEPTH) > settings.TAGGER_MAX_JSON_DEPTH:
            raise ParseError(self._too_deep())
        return data

    @staticmethod
    def _too_deep() -> str:
        return f"The JSON body nests deeper than {settings.TAGGER_MAX_JSON_DEPTH} levels."

    @staticmethod
    def _no_constant(name: str) -> Any:
        # NaN and Infinity are not JSON (DRF's strict mode refuses them too).
        raise ValueError(f"{name} is not a JSON value")

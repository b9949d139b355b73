"""JSON values as catalogue files hold them: strict parsing, and the words the
error messages use for a value's type."""

import json
from typing import Any


def _no_constant(name: str) -> Any:
    # PostgreSQL's jsonb refuses them, and no catalogue means them.
    raise ValueError(f"{name} is not a valid JSON value")


# json.loads without NaN and Infinity; raw_decode reads one value of a stream.
DECODER = json.JSONDecoder(parse_constant=_no_constant)
TOO_DEEP = "the JSON is nested too deeply"


def loads(text: str | bytes) -> Any:
    """json.loads without NaN and Infinity; raises ValueError (also for JSON
    nested deeper than Python's recursion limit)."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValueError(TOO_DEEP) from exc


def json_type_name(value: object) -> str:
    """What a merchandiser calls this kind of JSON value, for messages such
    as "expected a JSON object for a product, found a list"."""
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
    if isinstance(value, int | float):
        return "a number"
    return "a value"

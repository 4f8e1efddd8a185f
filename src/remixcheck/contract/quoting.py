"""How values are quoted into messages: JSON syntax, capped, never a Python repr.

Findings quote what a server sent. Those values are untrusted and can be huge (a 32,001
character prompt echoed back) or odd (null, lone surrogates, control characters), and the
reader knows JSON, not Python: `null`, not `None`; `"x"`, not `'x'`. Every message that quotes a
value goes through `show`, so one rule holds in the terminal, results.json, JUnit and HTML.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from typing import Any

LIMIT = 200
ELLIPSIS = "…"


def show(value: Any, limit: int = LIMIT) -> str:
    """`value` rendered as JSON text of at most about `limit` characters.

    A longer string keeps its quotes and gives the length of the value
    (`"aaaa…" (32001 chars)`); any other long value is cut in its JSON text and gives the
    length of that text. Bytes show as the text they decode to (undecodable bytes as U+FFFD),
    so a body excerpt reads the same whether it arrived as bytes or text.
    """
    value = _jsonable(value)
    if isinstance(value, str):
        if len(value) > limit:
            return f"{_dump(value[:limit] + ELLIPSIS)} ({len(value)} chars)"
        return _dump(value)
    text = _dump(value)
    if len(text) > limit:
        return f"{text[:limit]}{ELLIPSIS} ({len(text)} chars)"
    return text


def show_text(text: str, limit: int = LIMIT) -> str:
    """Free text (a server's error message) capped like `show`, without adding quotes."""
    text = (
        text.encode("utf-8", "backslashreplace").decode("utf-8") if _has_surrogates(text) else text
    )
    if len(text) > limit:
        return f"{text[:limit]}{ELLIPSIS} ({len(text)} chars)"
    return text


def _jsonable(value: Any) -> Any:
    """Map the Python values findings may hold onto the JSON value they stand for."""
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _dump(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=_fallback)
    except RecursionError:
        return "[a value nested too deeply to show]"
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    if _has_surrogates(text):
        # A lone surrogate cannot be written to a UTF-8 terminal or file: show its escape.
        text = json.dumps(value, ensure_ascii=True, default=_fallback)
    return text


def _fallback(value: Any) -> Any:
    """json.dumps `default`: containers become lists/objects, anything else its text."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def schema_problem(error: Any) -> str:
    """A jsonschema (Python) error in these words: its own message quotes values with repr
    (`{'a': None}`, `'x' was unexpected`), which a reader of a YAML or JSON file does not write."""
    kind, value, rule, schema = error.validator, error.instance, error.validator_value, error.schema
    if kind == "type":
        types = rule if isinstance(rule, list) else [rule]
        return f"{show(value, 60)} is not of type {' or '.join(types)}"
    if kind == "required" and isinstance(value, Mapping):
        missing = [name for name in rule if name not in value]
        return f"required property {', '.join(show(m) for m in missing)} is missing"
    if kind == "additionalProperties" and isinstance(value, Mapping):
        declared = set(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        extra = sorted(
            str(k)
            for k in value
            if k not in declared and not any(re.search(p, str(k)) for p in patterns)
        )
        return f"property {', '.join(show(k) for k in extra)} is not allowed here"
    if kind == "enum":
        return f"{show(value, 60)} is not one of {show(rule)}"
    if kind == "const":
        return f"{show(value, 60)} is not {show(rule)}"
    return f"{show(value, 60)} does not satisfy {kind} {show(rule, 60)}"

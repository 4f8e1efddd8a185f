"""jsonschema-rs errors read for findings: the branch worth reporting, the JSON pointer, the message
with its instance quoted (capped), and the consequences of a wrong type dropped."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from remixcheck.contract.findings import Finding
from remixcheck.contract.quoting import LIMIT, show, show_text

# A value of the wrong type also fails its enum, const and length keywords; one finding says it.
_CONSEQUENCES = frozenset(
    {"enum", "const", "minLength", "maxLength", "pattern", "format", "minimum", "maximum"}
)


def drop_consequences(findings: list[Finding]) -> list[Finding]:
    typed = {f.pointer for f in findings if f.keyword == "type"}
    if not typed:
        return findings
    return [f for f in findings if not (f.pointer in typed and f.keyword in _CONSEQUENCES)]


UNSEEN = object()


EXPLAIN_CACHE_MAX = 10_000
# An error quoting a longer value (a 32,001-character prompt) is not worth keeping.
MEMO_MESSAGE_MAX = 512


KEYWORDS = {
    "Constant": "const",
    "MinLength": "minLength",
    "MaxLength": "maxLength",
    "OneOfNotValid": "oneOf",
}


def best_branch(branches: Iterable[list[Any]], at: list[Any]) -> list[Any] | None:
    """The anyOf branch worth reporting: the one the instance's type fits (as jsonschema's best_match)."""
    fitting = [
        b
        for b in branches
        if not any(type(e.kind).__name__ == "Type" and list(e.instance_path) == at for e in b)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def json_pointer(path: Iterable[Any]) -> str:
    return "".join("/" + _escape(str(p)) for p in path)


def capped(value: Any) -> Any:
    """A value to keep as `actual`: itself when small, else its capped quotation."""
    if isinstance(value, (str, dict, list)) and len(show(value)) > LIMIT + 2:
        return show(value)
    return value


def error_message(err: Any) -> str:
    """jsonschema-rs's message with the instance it opens with quoted by `show` (capped)."""
    message = str(err.message)
    try:
        compact = json.dumps(err.instance, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        compact = ""
    if compact and message.startswith(compact):
        return show(err.instance) + message[len(compact) :]
    return show_text(message, 2 * LIMIT)


def excerpt(body: Any) -> str:
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body[: 4 * LIMIT]).decode("utf-8", "replace")
    return show_text(str(body) if body is not None else "")

"""pydantic's validation errors as breaks: pointer, kind and pydantic's own text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remixcheck.clients.base import Break


def breaks(exc: Any, body: Any) -> list[Break]:
    """One break per field a `pydantic.ValidationError` names, in pydantic's order."""
    errors = exc.errors(include_url=False)
    texts = _texts(exc)
    seen: dict[str, Break] = {}
    for i, err in enumerate(errors):
        kind = _kind(dict(err))
        pointer = _pointer(err["loc"], body, kind == "missing")
        text = texts[i] if i < len(texts) else f"{err['loc']}: {err['msg']}"
        # A union field fails once per member; its first error says it best.
        seen.setdefault(pointer, Break(pointer, kind, text))
    return list(seen.values())


def _pointer(loc: Sequence[Any], body: Any, missing: bool) -> str:
    """The JSON pointer a pydantic error location points at; union member tags are skipped."""
    pointer, node = "", body
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (
            isinstance(node, dict)
            and isinstance(part, str)
            and (part in node or (missing and last))
        ):
            pointer += "/" + part.replace("~", "~0").replace("/", "~1")
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            pointer += f"/{part}"
            node = node[part]
    return pointer


def _kind(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return "missing"
    if error.get("input", "") is None:
        return "null"
    if kind in ("literal_error", "enum"):
        return "enum"
    if kind.endswith(("_type", "_parsing")) or kind in ("int_from_float", "model_attributes_type"):
        return "type"
    return "invalid"


def _texts(exc: Exception) -> list[str]:
    """pydantic's own text of each error: its location line and its message line, joined."""
    lines = str(exc).splitlines()[1:]
    out: list[str] = []
    for line in lines:
        if not line.startswith(" "):
            out.append(line)
        elif line.startswith("  ") and not line.startswith("    ") and out:
            out[-1] = f"{out[-1]}: {line.strip()}"
    return out

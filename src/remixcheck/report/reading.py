"""Reading results.json values as the untrusted input they are: typed accessors, clipping, URLs
without credentials, headers without secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from remixcheck.contract.quoting import show
from remixcheck.report.vocabulary import (
    BODY_CLIP,
    HEADER_CLIP,
    MAX_HEADERS,
    MESSAGE_CLIP,
    NAME_CLIP,
    SECRET_HEADERS,
    USERINFO,
    VALUE_CLIP,
)
from remixcheck.traffic import jsonsafe


def clip(value: Any, limit: int) -> str:
    """A string of at most `limit` characters plus a marker saying how much was cut."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters clipped]"


def json_text(value: Any, limit: int = VALUE_CLIP) -> str:
    return show(value, limit)


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def as_int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def as_str(value: Any, limit: int = MESSAGE_CLIP) -> str:
    if value is None:
        return ""
    return clip(value, limit)


def safe_url(url: Any) -> str:
    """A base URL without user:password@ and without query values, which may carry keys."""
    text = str(url or "")
    try:
        parts = urlsplit(text)
    except ValueError:
        return clip(USERINFO.sub(r"\1***@", text), NAME_CLIP * 2)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        query = "&".join(
            p.partition("=")[0] + ("=***" if "=" in p else "") for p in query.split("&")
        )
    return clip(urlunsplit((parts.scheme, netloc, parts.path, query, "")), NAME_CLIP * 2)


def safe_headers(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping):
        return ()
    out = []
    items = list(raw.items())
    for name, value in items[:MAX_HEADERS]:
        key = clip(str(name), NAME_CLIP)
        text = str(value)
        if key.lower() in SECRET_HEADERS and "<redacted>" not in text:
            scheme, sep, _ = text.strip().partition(" ")
            text = (
                f"{scheme} <redacted>"
                if sep and key.lower().endswith("authorization")
                else "<redacted>"
            )
        out.append((key, clip(text, HEADER_CLIP)))
    if len(items) > MAX_HEADERS:
        out.append(("…", f"{len(items) - MAX_HEADERS} more headers left out"))
    return tuple(out)


def as_body(raw: Any, limit: int = BODY_CLIP) -> str | None:
    """A body excerpt, pretty-printed when it is JSON, clipped."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else json_text(raw, limit * 2)
    if text[:1] in "{[":
        # A server's body, so untrusted: jsonsafe bounds its depth (json.loads would raise
        # RecursionError on 5,000 nested arrays). A cut or hostile excerpt is shown as sent.
        decoded = jsonsafe.loads(text)
        if decoded.ok and not decoded.problems:
            text = json.dumps(decoded.value, indent=2, ensure_ascii=False)
    return clip(text, limit)

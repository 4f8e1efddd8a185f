"""Requests and answers as written on the wire: URLs joined and compared by origin, raw request
targets (so `..` and `%2F` arrive as sent), loopback told apart, Retry-After read, and the
shell quoting of a curl line."""

from __future__ import annotations

import email.utils
import re
import shlex
import time
from urllib.parse import urljoin, urlsplit


def _ansi_c(text: str) -> str:
    """Bash $'...' quoting, so CR/LF of multipart bodies survive copy and paste."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\r", "\\r").replace("\n", "\\n")
    )
    return f"'{escaped}'"


_DELTA_SECONDS = re.compile(r"[0-9]{1,10}")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds, parsed strictly (RFC 9110: delta-seconds or an HTTP date).

    None when absent or neither form ("nan", "-1", "1.5"); a date in the past is 0.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    if not value or not value[0].isalpha():  # every HTTP date starts with a day name
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # an HTTP date is always GMT; a date without a zone is not one
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _join(url: str, location: str) -> str | None:
    """The absolute URL a Location points to; None when it is not a usable URL (port 99999)."""
    try:
        target = urljoin(url, location)
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return target


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (the boundary a key never crosses)."""
    return _origin(a) == _origin(b)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        port = -1  # not a port at all: matches no origin
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _raw_target(url: str) -> bytes:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target.encode("ascii", "strict") if target.isascii() else target.encode("utf-8")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def is_loopback(base_url: str) -> bool:
    import ipaddress

    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def curl_line(
    key_env: str,
    method: str,
    url: str,
    content_type: str | None,
    auth: str,
    body: bytes | None,
    shell_body: str | None,
    invalid_key: str,
) -> str:
    """A curl line that reproduces the request, with the key as $ENV_VAR, never its value."""
    parts = ["curl", "-sS", "--path-as-is", "-X", method, shlex.quote(url)]
    if auth == "valid":
        parts += ["-H", f'"Authorization: Bearer ${key_env}"']
    elif auth == "invalid":
        parts += ["-H", shlex.quote(f"Authorization: Bearer {invalid_key}")]
    if content_type:
        parts += ["-H", shlex.quote(f"Content-Type: {content_type}")]
    if shell_body is not None:
        parts += ["--data-binary", f'"{shell_body}"']
    elif body is not None:
        text = body.decode("utf-8", "replace")
        parts += [
            "--data-binary",
            "$" + _ansi_c(text) if "\r" in text or "\n" in text else shlex.quote(text),
        ]
    return " ".join(parts)

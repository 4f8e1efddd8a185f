"""API keys from the environment: checked when loaded, registered for redaction, never echoed.

A key with a trailing CR or LF (a .env saved on Windows, a CI secret with a newline) would
otherwise reach the HTTP library, whose error quotes the whole header value, key included.
So a key must be printable ASCII without whitespace (all an HTTP header value may carry
unquoted), and the error says where the bad character is, never what the key is.
"""

from __future__ import annotations

import os
import re

from remixcheck.contract.quoting import show
from remixcheck.errors import UsageError
from remixcheck.traffic import redact

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMES = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\t": "a tab", " ": "a space"}


def problem(key: str) -> str | None:
    """What is wrong with a key, without quoting any of it; None when it is usable."""
    for index, char in enumerate(key):
        if "!" <= char <= "~":
            continue
        what = _NAMES.get(char)
        if what is None:
            if char.isspace():
                what = "whitespace"
            elif not char.isprintable():
                what = f"a control character (U+{ord(char):04X})"
            else:
                what = "a non-ASCII character"
        where = "at its end" if index == len(key) - 1 else f"at character {index + 1} of {len(key)}"
        hint = (
            " (a .env file saved on Windows or a secret stored with a trailing newline does this)"
            if char in "\r\n"
            else ""
        )
        return f"holds {what} {where}; an API key is printable ASCII without whitespace{hint}"
    return None


def check(key: str, source: str) -> str:
    """The key, registered for redaction; UsageError naming `source` when it is unusable."""
    redact.register(key)  # even a refused key must never be printed by a later message
    found = problem(key)
    if found is not None:
        raise UsageError(f"{source} {found}")
    return key


def from_env(env: str, where: str = "") -> str | None:
    """The key held by environment variable `env`, checked; None when it is unset or empty."""
    if not ENV_NAME.fullmatch(env):
        prefix = f"{where}: " if where else ""
        raise UsageError(f"{prefix}api key env {show(env, 60)} is not an environment variable name")
    value = os.environ.get(env)
    if not value:
        return None
    return check(value, f"environment variable {env}")

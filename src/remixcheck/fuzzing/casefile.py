"""Fuzz case files as untrusted input: read with limits, checked against a schema, then placed.

A case file may come from anyone (a teammate, an issue, a download), and replaying it sends
a request with the user's key. So nothing in it is trusted to decide where that request
goes or which secret goes along: the recorded origin is used only when it is loopback, any
other is used only when `--base-url` on the command line names it; the key comes from the
vendor's variable or `--api-key-env`, never from a variable the file names; the vendor is a
bundled name (a profile file only from the command line); and every string that reaches a
request line or a header is checked to hold no CR, LF or other control character.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import stat
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from remixcheck.conformance.wire import is_loopback, same_origin
from remixcheck.contract.quoting import show, show_text
from remixcheck.errors import InputError, UsageError
from remixcheck.traffic import jsonsafe

CASE_SCHEMA = "remixcheck/fuzz-case"
CASE_VERSION = 1
MAX_CASE_BYTES = 16 * 1024 * 1024  # a case holds one request and a body excerpt: far less
# Every method fuzzing sends (declared ones and the undeclared ones it probes); never CONNECT.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

# No control characters (CR and LF above all), no DEL, no lone surrogates.
_LINE_SAFE = r"^[^\x00-\x1f\x7f\ud800-\udfff]*$"
# A raw request target: starts with "/" (so nothing can be read as a host), no spaces either.
_PATH = r"^/[^\x00-\x20\x7f\ud800-\udfff]*$"


def _text(max_length: int, pattern: str = _LINE_SAFE) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": pattern}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, schema]}


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "version", "vendor", "base_url", "request"],
    "properties": {
        "schema": {"const": CASE_SCHEMA},
        "version": {"const": CASE_VERSION},
        "id": _text(64, r"^[A-Za-z0-9_.-]+$"),
        "target": _text(200),
        "vendor": _text(200),
        "base_url": _text(2000),
        "api_key_env": _text(200),
        "context": {"type": "object"},
        "emulator": {
            "type": "object",
            "properties": {
                "faults": {"type": "array", "items": _text(200), "maxItems": 64},
                "job_seconds": {"type": "number", "minimum": 0.05, "maximum": 600},
            },
        },
        "request": {
            "type": "object",
            "required": ["method", "path"],
            "properties": {
                "method": {"enum": list(METHODS)},
                "path": {**_text(16384, _PATH), "minLength": 1},
                "content_type": _optional(_text(1000, r"^[\x20-\x7e]*$")),
                "auth": {"enum": ["valid", "none", "invalid"]},
                "body": _optional({"type": "string", "maxLength": MAX_CASE_BYTES}),
                "body_encoding": {"enum": [None, "utf-8", "base64"]},
                "operation": _optional(_text(200)),
                "base_path": _text(1000),
                "id_kind": _optional(_text(50)),
                "video_id": _optional({"type": "string", "maxLength": 16384}),
                "origin": _text(100),
                "description": {"type": "string", "maxLength": 100_000},
                "target": _text(200),
            },
        },
    },
}


def load(path: Path) -> dict[str, Any]:
    """A case file, read with a size limit and checked; InputError naming the first problem."""
    data: dict[str, Any] = jsonsafe_decode(path, _read(path))
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise InputError(f"{path}: not a valid fuzz case: {_describe(error)}")
    request = data["request"]
    if request.get("body") is not None and request.get("body_encoding") == "base64":
        try:
            base64.b64decode(request["body"], validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                f"{path}: not a valid fuzz case: request/body is not valid base64"
            ) from None
    return data


def _read(path: Path) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: not a regular file")
        if info.st_size > MAX_CASE_BYTES:
            raise InputError(
                f"{path}: {info.st_size} bytes is too large for a fuzz case (at most {MAX_CASE_BYTES})"
            )
        with path.open("rb") as fh:
            return fh.read(MAX_CASE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def jsonsafe_decode(path: Path, raw: bytes) -> Any:
    decoded = jsonsafe.loads(raw)
    if decoded.problems:
        first = decoded.problems[0]
        where = f" at {first.pointer}" if first.pointer else ""
        raise InputError(f"{path}: not a fuzz case (invalid JSON{where}: {first.message})")
    if not isinstance(decoded.value, dict) or decoded.value.get("schema") != CASE_SCHEMA:
        raise InputError(f'{path}: not a remixcheck fuzz case (no "schema": "{CASE_SCHEMA}")')
    return decoded.value


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "the case"
    kind, value, schema = error.validator, error.instance, error.schema
    if kind == "type":
        expected = (
            schema["type"] if isinstance(schema["type"], str) else " or ".join(schema["type"])
        )
        return f"{where} must be {_article(expected)}, not {show(value, 60)}"
    if kind in ("enum", "const"):
        allowed = schema.get("enum", [schema.get("const")])
        return (
            f"{where} must be one of {', '.join(show(a) for a in allowed)}, not {show(value, 60)}"
        )
    if kind == "required":
        missing = [name for name in schema["required"] if name not in value]
        return f"{where} lacks {', '.join(missing)}"
    if kind == "pattern":
        if schema["pattern"] == _PATH and isinstance(value, str) and not value.startswith("/"):
            return f"{where} must start with /, not {show(value, 60)}"
        return f"{where} holds characters not allowed there (control characters, CR, LF): {show(value, 60)}"
    if kind in ("maxLength", "maxItems"):
        return f"{where} is too long"
    if kind == "anyOf":
        return f"{where} must be null or a {schema['anyOf'][1].get('type', 'value')}, not {show(value, 60)}"
    return f"{where}: {show_text(error.message, 120)}"


def _article(kind: str) -> str:
    return {"object": "an object", "integer": "an integer", "array": "an array"}.get(
        kind, f"a {kind}"
    )


def destination(data: dict[str, Any], base_url: str | None, path: Path) -> str:
    """Where the replay goes: --base-url, or the recorded origin when that is loopback."""
    from remixcheck.conformance.targets import check_base_url

    if base_url is not None:
        return check_base_url(base_url)
    recorded = check_base_url(data["base_url"], f"{path}: base_url")
    if data.get("emulator") is not None:
        raise UsageError(
            f"{path}: this case was found on a bundled emulator that is no longer running; "
            "add --emulate to start one again (or --base-url URL to send it elsewhere)"
        )
    if not is_loopback(recorded):
        raise UsageError(
            f"{path}: this case was recorded against {recorded}; replay sends your key only where "
            f"you say so: add --base-url {recorded} to send it there"
        )
    return recorded


def request_url(base_url: str, request_path: str) -> str:
    """The URL a case's path makes under the base; UsageError when it would leave the base."""
    url = base_url + request_path
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InputError(f"request/path {show(request_path, 80)} does not make a URL") from None
    base_path = urlsplit(base_url).path.rstrip("/")
    # Servers resolve dot segments (often after decoding %2e): the resolved path must stay under the base too.
    resolved = posixpath.normpath(unquote(parts.path))
    if (
        not same_origin(url, base_url)
        or not parts.path.startswith(base_path + "/")
        or not (resolved + "/").startswith(base_path + "/")
    ):
        raise InputError(f"request/path {show(request_path, 80)} leaves {base_url}")
    return url


def vendor(data: dict[str, Any], flag: str | None, path: Path) -> str:
    """The profile to judge with: --vendor as given, else a bundled name from the case."""
    from remixcheck.contract import profiles as vendors

    if flag is not None:
        return flag
    name = data["vendor"]
    if name not in vendors.available():
        raise UsageError(
            f"{path}: vendor {show(name, 80)} is not a bundled profile "
            f"({', '.join(vendors.available())}); give its profile file with --vendor FILE"
        )
    return str(name)


def target_name(data: dict[str, Any], profile: str) -> str:
    """The case's target name when it is a usable one, else the profile's id (only a label)."""
    import re

    from remixcheck.conformance.config_schema import NAME_PATTERN
    from remixcheck.contract import profiles as vendors

    name = data.get("target")
    if isinstance(name, str) and re.fullmatch(NAME_PATTERN, name):
        return name
    return vendors.load(profile).id


def emulator_config(data: dict[str, Any], path: Path) -> tuple[tuple[str, ...], float]:
    """(faults, job seconds) of the emulator a case was found on; UsageError when it was not."""
    found = data.get("emulator")
    if found is None:
        raise UsageError(f"{path}: --emulate: this case was not found on a bundled emulator")
    return tuple(found.get("faults", ())), float(found.get("job_seconds", 0.6))

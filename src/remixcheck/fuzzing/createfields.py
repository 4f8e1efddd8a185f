"""The fields a gateway needs on every create (its profile's `request.create_fields`), put
into a generated create body.

A gateway routes a create on `model`: a create without it, or with a model name the fuzzer
made up, is refused before it reaches any video API, and says nothing about the contract.
So a string value (or a missing field) becomes the profile's value; a value of another type
is left as generated, since it is what that case is about and it must still be refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

Fields = Sequence[tuple[str, str]]


def apply(body: bytes | None, content_type: str | None, fields: Fields) -> bytes | None:
    """`body` with the create fields set, as the same content type; other bodies unchanged."""
    if not fields or body is None or content_type is None:
        return body
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        return _json(body, fields)
    if media == "multipart/form-data":
        boundary = _boundary(content_type)
        return _multipart(body, boundary, fields) if boundary else body
    return body


def _json(body: bytes, fields: Fields) -> bytes:
    try:
        value: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body  # malformed on purpose: that is the case
    if not isinstance(value, dict):
        return body
    changed = False
    for name, wanted in fields:
        if name not in value or isinstance(value[name], str):
            changed = changed or value.get(name) != wanted
            value[name] = wanted
    return json.dumps(value, ensure_ascii=False).encode() if changed else body


def _boundary(content_type: str) -> str | None:
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    return found.group(1) if found else None


def _multipart(body: bytes, boundary: str, fields: Fields) -> bytes:
    delimiter = b"--" + boundary.encode("latin-1")
    closing = delimiter + b"--"
    end = body.rfind(closing)
    if end < 0:
        return body  # not a complete multipart body: leave the case as generated
    for name, wanted in fields:
        # A part named `name` (a form field, no filename) gets the wanted value.
        part = re.compile(
            rb"(Content-Disposition: form-data; name=\""
            + re.escape(name.encode())
            + rb"\"\r\n(?:[^\r\n]+\r\n)*\r\n)(.*?)(\r\n"
            + re.escape(delimiter)
            + rb")",
            re.DOTALL | re.IGNORECASE,
        )
        value = wanted.encode("utf-8")
        found = part.search(body)
        if found:
            body = body[: found.end(1)] + value + body[found.start(3) :]
        else:
            end = body.rfind(closing)
            added = (
                delimiter
                + b'\r\nContent-Disposition: form-data; name="'
                + name.encode()
                + b'"\r\n\r\n'
                + value
                + b"\r\n"
            )
            body = body[:end] + added + body[end:]
    return body

"""Request bodies read as the emulated vendors read them: JSON, multipart, input references, and the
echo of a value into an error message (capped, keys masked)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from remixcheck.emulator.dialects import ApiError

ECHO_LIMIT = 200  # longest piece of the request (path, id) repeated back in an error message


@dataclass(frozen=True)
class FilePart:
    """A multipart file upload; only its presence matters to the emulator."""

    filename: str


def _input_reference(request: Request, fields: dict[str, Any]) -> None:
    """Create's JSON `input_reference` is OpenAI's ImageRefParam: an object whose image_url and
    file_id are strings (multipart takes a file or that object, so any part is accepted there)."""
    if (
        "input_reference" not in fields
        or "json" not in request.headers.get("content-type", "").lower()
    ):
        return  # absent is fine; null is not: the document declares an object, not nullable
    ref = fields["input_reference"]
    if not isinstance(ref, dict):
        raise ApiError(
            "invalid_type", param="input_reference", expected="an object", got=_kind(ref)
        )
    for key in ("image_url", "file_id"):
        if key in ref and not isinstance(ref[key], str):
            raise ApiError(
                "invalid_type",
                param=f"input_reference.{key}",
                expected="a string",
                got=_kind(ref[key]),
            )


def _parse_json(body: bytes, *, crash: bool = False) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays; ValueError covers bad UTF-8 and huge integers too.
        raise ApiError("invalid_json", detail=_echo(str(exc))) from None
    if not isinstance(data, dict):
        # crash: the handler reads fields off a value it never checked was an object.
        raise ApiError("server_error" if crash else "body_not_object", got=_kind(data))
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _parse_multipart(headers: Headers, body: bytes, max_part: int) -> dict[str, Any]:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(headers, stream(), max_files=8, max_fields=64, max_part_size=max_part)
    try:
        form = await parser.parse()
    except Exception as exc:  # python-multipart raises several unrelated types on malformed input
        raise ApiError("invalid_multipart", detail=_echo(str(exc) or type(exc).__name__)) from None
    fields: dict[str, Any] = {}
    try:
        for key, value in form.multi_items():
            fields[key] = FilePart(value.filename or "") if isinstance(value, UploadFile) else value
    finally:
        await form.close()
    return fields


def _kind(value: Any) -> str:
    """OpenAI's wording for a value's type in 'expected X, but got Y'."""
    if value is None:
        return "null"
    if isinstance(value, FilePart):
        return "a file"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _echo(text: str) -> str:
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "..."


def _mask(key: str) -> str:
    # Never repeat a whole key back, not even a wrong one.
    return f"{key[:3]}***{key[-4:]}" if len(key) > 10 else "***"

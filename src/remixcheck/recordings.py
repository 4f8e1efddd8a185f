"""Recorded traffic -> Exchanges: HAR 1.2 files and JSON lines, streamed so memory stays flat."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from remixcheck.errors import InputError
from remixcheck.exchange import Exchange

_PEEK = 65536


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read; kept so nothing is silently lost."""

    source: str
    reason: str


Record = Exchange | BadRecord


def read(path: Path) -> Iterator[Record]:
    """Every exchange of a HAR or JSON-lines file, in order, with unreadable records as BadRecord."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        head = fh.read(_PEEK)
        if not head.strip():
            raise InputError(f"{path}: empty file: expected HAR 1.2 or JSON lines")
        fh.seek(0)
        if _looks_like_jsonl(head):
            yield from _read_jsonl(fh, path)
        else:
            yield from _read_har(fh, path)


def _looks_like_jsonl(head: bytes) -> bool:
    first, newline, _ = head.lstrip().partition(b"\n")
    if not newline and len(head) >= _PEEK:
        return False  # one very long line: a minified HAR, not a record
    try:
        value = json.loads(first)
    except ValueError:
        return False
    return isinstance(value, dict) and "request" in value and "log" not in value


def _read_jsonl(fh: BinaryIO, path: Path) -> Iterator[Record]:
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        source = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield BadRecord(source, f"not JSON: {exc}")
            continue
        try:
            yield _from_jsonl(record, source)
        except (KeyError, TypeError, ValueError) as exc:
            yield BadRecord(source, f"not an exchange record: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    return f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)


def _from_jsonl(record: Any, source: str) -> Exchange:
    if not isinstance(record, dict):
        raise TypeError("a line must be a JSON object with request and response")
    req = record["request"]
    resp = record.get("response")
    if not isinstance(req, dict) or (resp is not None and not isinstance(resp, dict)):
        raise TypeError("request and response must be objects")
    req_body = req.get("body")
    resp_body = resp.get("body") if resp else None
    return Exchange.build(
        method=_str(req, "method"),
        url=_str(req, "url"),
        request_headers=_headers(req.get("headers", {})),
        request_body=req_body,
        request_body_raw=isinstance(req_body, str) or req_body is None,
        status=_status(resp["status"]) if resp else None,
        response_headers=_headers(resp.get("headers", {})) if resp else None,
        response_body=resp_body,
        response_body_raw=isinstance(resp_body, str) or resp_body is None,
        truncated=bool(resp.get("truncated", False)) if resp else False,
        source=source,
    )


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} must be a non-empty string")
    return value


def _status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"status must be an integer 100..599, got {value!r}")
    return value


def _headers(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), str(v)) for k, v in value.items()]
    if isinstance(value, list):  # HAR style [{name, value}]
        return [(str(h["name"]), str(h["value"])) for h in value]
    raise TypeError("headers must be an object or a list of {name, value}")


def _read_har(fh: BinaryIO, path: Path) -> Iterator[Record]:
    import ijson

    count = 0
    try:
        for count, entry in enumerate(ijson.items(fh, "log.entries.item", use_float=True), start=1):
            source = f"{path.name}#entry{count}"
            try:
                yield _from_har(entry, source)
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                yield BadRecord(source, f"not a HAR entry: {_reason(exc)}")
    except ijson.JSONError as exc:
        if count == 0:
            raise InputError(
                f"{path}: neither HAR 1.2 nor JSON lines ({_parser_error(exc)})"
            ) from None
        yield BadRecord(
            f"{path.name}#entry{count + 1}", f"HAR ends in malformed JSON: {_parser_error(exc)}"
        )
        return
    if count == 0:
        fh.seek(0)
        if not _has_har_log(fh):
            raise InputError(f"{path}: neither HAR 1.2 (no log.entries) nor JSON lines")


def _parser_error(exc: Exception) -> str:
    """The parser's first line only: the lines after it quote the input, which may hold a key."""
    first = str(exc).strip().splitlines()
    return first[0].rstrip(".:") if first else type(exc).__name__


def _has_har_log(fh: BinaryIO) -> bool:
    import ijson

    try:
        return any(prefix == "log.entries" for prefix, _, _ in ijson.parse(fh))
    except ijson.JSONError:
        return False


def _from_har(entry: Any, source: str) -> Exchange:
    req = entry["request"]
    resp = entry.get("response") or {}
    post = req.get("postData")
    req_body: Any = None
    if post:
        req_body = post.get("text")
        if req_body is None and post.get("params"):
            # Browsers export form posts as params; rebuild them as a JSON-free field map.
            req_body = {p["name"]: p.get("value", "") for p in post["params"]}
    content = resp.get("content") or {}
    text = content.get("text")
    if text is not None and content.get("encoding") == "base64":
        text = base64.b64decode(text, validate=True)
    status = resp.get("status")
    # HAR writes status 0 for requests that got no response (aborted, blocked).
    has_response = isinstance(status, int) and status > 0
    return Exchange.build(
        method=_str(req, "method"),
        url=_str(req, "url"),
        request_headers=_headers(req.get("headers", [])),
        request_body=req_body,
        request_body_raw=not isinstance(req_body, dict),
        status=_status(status) if has_response else None,
        response_headers=_headers(resp.get("headers", [])) if has_response else None,
        response_body=text,
        response_body_raw=True,
        source=source,
    )

"""Recorded traffic -> Exchanges: HAR 1.2 files and JSON lines, streamed so memory stays flat."""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from remixcheck.contract.quoting import show
from remixcheck.errors import InputError
from remixcheck.traffic import harmodel, harscan, jsonsafe
from remixcheck.traffic.exchange import Exchange

_PEEK = 65536
# scheme://host[:port] then a path, a query, a fragment or the end: a URL urlsplit accepts.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~-]+(?::([0-9]{1,5}))?(?:[/?#]|$)")


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read; kept so nothing is silently lost."""

    source: str
    reason: str


Record = Exchange | BadRecord


def read(path: Path) -> Iterator[Record]:
    """Every exchange of a HAR or JSON-lines file ("-": standard input), in order, with
    unreadable records as BadRecord."""
    stdin = str(path) == "-"
    try:
        fh = sys.stdin.buffer if stdin else path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    name = "<stdin>" if stdin else str(path)
    try:
        # Windows tools (Fiddler, Charles) write a UTF-8 byte order mark before the JSON.
        head = fh.read(_PEEK).removeprefix(codecs.BOM_UTF8)
        if not head.strip():
            raise InputError(f"{name}: empty input: expected HAR 1.2 or JSON lines")
        # The peeked bytes are handed back in front of the rest: a pipe cannot seek.
        stream = io.BufferedReader(_Peeked(head, fh), buffer_size=_PEEK)
        label = Path(name)
        if _looks_like_jsonl(head):
            yield from _read_jsonl(stream, label)
        else:
            yield from _read_har(stream, label, head)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    finally:
        if not stdin:
            fh.close()


class _Peeked(io.RawIOBase):
    """The bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _looks_like_jsonl(head: bytes) -> bool:
    """Whether the input is JSON lines: the first value's top-level keys say, however long it is."""
    keys = _shape(head).top_keys
    if "log" in keys:
        return False
    if "request" in keys:
        return True
    # A broken first record does not make the file a HAR: a later line may still be a record.
    for line in head.splitlines()[1:]:
        decoded = jsonsafe.loads(line) if line.strip() else None
        if decoded is not None and decoded.ok:
            return isinstance(decoded.value, dict) and "request" in decoded.value
    return False


@dataclass(slots=True)
class _Shape:
    top_keys: set[str]
    har_entries: bool  # a log.entries array was seen


def _shape(head: bytes) -> _Shape:
    """What the start of the input shows: the first value's top-level keys, a log.entries."""
    entries = harscan.Entries(io.BytesIO(head))
    try:
        for _ in entries:
            break
    except harscan.Malformed:
        pass
    return _Shape(entries.top_keys, entries.found)


def _read_jsonl(fh: Iterable[bytes], path: Path, first_line: int = 1) -> Iterator[Record]:
    name = path.name
    for number, line in enumerate(fh, start=first_line):
        if not line.strip():
            continue
        source = f"{name}:{number}"
        decoded = jsonsafe.loads(line, duplicates=False)
        if not decoded.ok:
            problem = next(p for p in decoded.problems if p.fatal)
            yield BadRecord(source, f"not JSON: {problem.message}")
            continue
        try:
            yield _from_jsonl(decoded.value, source)
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
        url=_url(req),
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


def _url(obj: dict[str, Any]) -> str:
    return _checked_url(_str(obj, "url"))


def _checked_url(value: str) -> str:
    plain = _PLAIN_URL.match(value)
    if plain is not None and (plain.group(1) is None or int(plain.group(1)) <= 65535):
        return value  # most URLs of a capture; urlsplit costs as much as the rest of a record
    try:
        urlsplit(value).port  # noqa: B018 - raises on "//[::1" and bad ports
    except ValueError:
        raise ValueError(f"url {show(value, 80)} is not a valid URL") from None
    return value


def _status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError(f"status must be an integer 100..599, got {show(value, 60)}")
    return value


def _obj(value: Any, where: str) -> dict[str, Any]:
    """`value` when it is a JSON object; else a TypeError in the recording's terms."""
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be an object, got {show(value, 60)}")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{where} must be a string, got {show(value, 60)}")
    return value


def _headers(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), str(v)) for k, v in value.items()]
    if isinstance(value, list):  # HAR style [{name, value}]
        out = []
        for h in value:
            header = h if type(h) is dict else _obj(h, "a header")
            name, text = header.get("name"), header.get("value")
            if type(name) is not str or type(text) is not str:
                raise TypeError(f"a header must have a string name and value, got {show(h, 60)}")
            out.append((name, text))
        return out
    raise TypeError("headers must be an object or a list of {name, value}")


def read_har_entries(path: Path, first: int, last: int | None) -> Iterator[Record]:
    """Entries first..last (1-based; last None: to the end) of a HAR file, as `read` gives
    them: the entries before are only counted (their ends found), so each keeps its number."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        head = fh.read(_PEEK)
        stream = io.BufferedReader(_Peeked(head.removeprefix(codecs.BOM_UTF8), fh), _PEEK)
        yield from _read_har(stream, path, head, first, last)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        fh.close()


def _read_har(
    fh: BinaryIO, path: Path, head: bytes, first: int = 1, last: int | None = None
) -> Iterator[Record]:
    count = 0
    entries = harscan.Entries(fh, harmodel.DECODER, skip=first - 1)
    name = path.name
    try:
        for count, (entry, escaped) in enumerate(entries, start=1):
            if count < first:
                continue
            if last is not None and count > last:
                return
            source = f"{name}#entry{count}"
            try:
                if isinstance(entry, harmodel.Entry):
                    yield _from_typed(entry, source)
                else:
                    yield _from_har(_sanitized(entry, escaped), source)
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                yield BadRecord(source, f"not a HAR entry: {_reason(exc)}")
    except harscan.Malformed as exc:
        if count == 0 and not entries.found:
            raise InputError(f"{path}: neither HAR 1.2 nor JSON lines ({exc})") from None
        if first <= count + 1 and (last is None or count + 1 <= last):  # else its range does
            yield BadRecord(f"{name}#entry{count + 1}", f"HAR ends in malformed JSON: {exc}")
        return
    if count == 0 and not entries.found:
        raise InputError(f"{path}: neither HAR 1.2 (no log.entries) nor JSON lines")


def _sanitized(entry: Any, text: str | None) -> Any:
    """The entry as jsonsafe gives it when its text has a surrogate escape (a lone surrogate
    would fail whoever writes it as UTF-8); as decoded otherwise."""
    if text is None:
        return entry
    decoded = jsonsafe.loads(text)
    if not decoded.ok:
        raise ValueError(next(p.message for p in decoded.problems if p.fatal))
    return decoded.value


def _from_har(entry: Any, source: str) -> Exchange:
    # Every part is checked for its JSON type first: the file is untrusted input, and a wrong
    # type must read as a bad record, not as an AttributeError deep in here.
    entry = _obj(entry, "an entry")
    req = _obj(entry["request"], "request")
    resp = _obj(entry.get("response") or {}, "response")
    post = req.get("postData")
    req_body: Any = None
    if post:
        post = _obj(post, "request.postData")
        req_body = _text(post.get("text"), "request.postData.text")
        if req_body is None and post.get("params"):
            params = post["params"]
            if not isinstance(params, list):
                raise TypeError(f"request.postData.params must be a list, got {show(params, 60)}")
            # Browsers export form posts as params; rebuild them as a JSON-free field map.
            req_body = {}
            for p in params:
                param = _obj(p, "a postData param")
                req_body[str(param["name"])] = (
                    _text(param.get("value", ""), "a param's value") or ""
                )
    content = _obj(resp.get("content") or {}, "response.content")
    text: str | bytes | None = _text(content.get("text"), "response.content.text")
    if isinstance(text, str) and content.get("encoding") == "base64":
        text = base64.b64decode(text, validate=True)
    status = resp.get("status")
    # HAR writes status 0 for requests that got no response (aborted, blocked).
    has_response = isinstance(status, int) and status > 0
    return Exchange.build(
        method=_str(req, "method"),
        url=_url(req),
        request_headers=_headers(req.get("headers", [])),
        request_body=req_body,
        request_body_raw=not isinstance(req_body, dict),
        status=_status(status) if has_response else None,
        response_headers=_headers(resp.get("headers", [])) if has_response else None,
        response_body=text,
        response_body_raw=True,
        source=source,
    )


def _from_typed(entry: harmodel.Entry, source: str) -> Exchange:
    """`_from_har` for an entry whose parts msgspec has already type-checked."""
    req, resp = entry.request, entry.response
    if not req.method or not req.url:
        raise TypeError(f"{'method' if not req.method else 'url'} must be a non-empty string")
    post = req.postData
    req_body: Any = None
    if post is not None:
        req_body = post.text
        if req_body is None and post.params:
            req_body = {p.name: p.value for p in post.params}
    text: str | bytes | None = None
    has_response = resp is not None and resp.status > 0
    if resp is not None and resp.content is not None:
        text = resp.content.text
        if text is not None and resp.content.encoding == "base64":
            text = base64.b64decode(text, validate=True)
    return Exchange.build(
        method=req.method,
        url=_checked_url(req.url),
        request_headers=[(h.name, h.value) for h in req.headers],
        request_body=req_body,
        request_body_raw=not isinstance(req_body, dict),
        status=_status(resp.status) if has_response and resp is not None else None,
        response_headers=[(h.name, h.value) for h in resp.headers]
        if has_response and resp is not None
        else None,
        response_body=text,
        response_body_raw=True,
        source=source,
    )

"""A request judged against the contract: id format in the path, content type, body schema
(JSON or multipart), and the profile's request rules."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.origins import WHY_PROFILE
from remixcheck.contract.quoting import show
from remixcheck.contract.spec import (
    CONVENTION,
    PUBLISHED,
    MediaType,
    Operation,
)
from remixcheck.traffic import jsonsafe
from remixcheck.traffic.exchange import Request, media_type
from remixcheck.validation.routing import Route
from remixcheck.validation.schema_errors import capped
from remixcheck.validation.schema_judging import SchemaJudging

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

JSON = "application/json"


MULTIPART = "multipart/form-data"


class RequestChecks(SchemaJudging):
    """A request judged: path id format, content type, body against its schema, profile rules."""

    # -- requests ------------------------------------------------------------

    def check_request(self, request: Request, route: Route) -> list[Finding]:
        opid = route.operation.operation_id
        out = self._auth_findings(request, opid)
        if route.video_id is not None and not self.profile.video_id.pattern.fullmatch(
            route.video_id
        ):
            out.append(self._video_id_finding(route.video_id, opid))
        if route.operation.request_content:
            out += self._request_body_findings(request, route.operation)
        return out

    def _auth_findings(self, request: Request, opid: str) -> list[Finding]:
        """No bearer key, another scheme, or a key without the vendor's prefix."""
        out: list[Finding] = []
        if request.auth_scheme is None:
            out.append(
                self._finding(
                    "request.auth",
                    "request",
                    "auth",
                    "authorization",
                    opid,
                    None,
                    "no Authorization header: the contract requires a bearer key",
                    expected="Bearer <key>",
                    actual=None,
                    spec_location="#/components/securitySchemes/bearerAuth",
                    origin=PUBLISHED,
                )
            )
        elif request.auth_scheme.lower() != "bearer":
            out.append(
                self._finding(
                    "request.auth",
                    "request",
                    "auth",
                    "authorization",
                    opid,
                    None,
                    f"Authorization scheme is {show(request.auth_scheme)}, not Bearer",
                    expected="Bearer",
                    actual=request.auth_scheme,
                    spec_location="#/components/securitySchemes/bearerAuth",
                    origin=PUBLISHED,
                )
            )
        elif self.profile.key_prefix and not (request.key_prefix or "").startswith(
            self.profile.key_prefix
        ):
            out.append(
                self._finding(
                    "request.api-key-format",
                    "request",
                    "auth",
                    "authorization",
                    opid,
                    None,
                    f"{self.profile.name} keys start with {show(self.profile.key_prefix)}",
                    severity=Severity.WARNING,
                    expected=self.profile.key_prefix + "...",
                    actual="(redacted)",
                    origin=CONVENTION,
                    why=f"{WHY_PROFILE}: {self.profile.name} keys",
                )
            )
        return out

    def _video_id_finding(self, video_id: str, opid: str) -> Finding:
        return self._finding(
            "request.video-id",
            "request",
            "path",
            "video_id",
            opid,
            None,
            f"video id {show(video_id, 80)} is not in {self.profile.name}'s format (e.g. {self.profile.video_id.example})",
            expected=self.profile.video_id.pattern.pattern,
            actual=capped(video_id),
            origin=CONVENTION,
            why=f"{WHY_PROFILE}: {self.profile.name} video ids",
        )

    def _request_body_findings(self, request: Request, op: Operation) -> list[Finding]:
        """Content type, then the body (JSON or multipart) against its schema."""
        opid = op.operation_id
        out: list[Finding] = []
        ctype = media_type(request.headers)
        body = request.body
        if ctype is None and body in (None, b"", ""):
            if op.request_required:
                out.append(
                    self._finding(
                        "request.body",
                        "request",
                        "body",
                        "",
                        opid,
                        None,
                        "request body is required",
                        keyword="required",
                        expected=list(op.request_content),
                        actual=None,
                        spec_location=op.pointer + "/requestBody",
                        origin=op.request_required_origin[0],
                        why=op.request_required_origin[1],
                    )
                )
            return out
        media = op.request_content.get(ctype or "")
        if media is None:
            out.append(
                self._finding(
                    "request.content-type",
                    "request",
                    "content-type",
                    "content-type",
                    opid,
                    None,
                    f"request content type {ctype or '(none)'} is not accepted by the contract",
                    expected=list(op.request_content),
                    actual=ctype,
                    spec_location=op.pointer + "/requestBody/content",
                    origin=PUBLISHED,
                )
            )
            return out
        if ctype not in self.profile.content_types:
            out.append(
                self._finding(
                    "request.content-type",
                    "request",
                    "content-type",
                    "content-type",
                    opid,
                    None,
                    f"{self.profile.name} accepts only {', '.join(self.profile.content_types)}",
                    expected=list(self.profile.content_types),
                    actual=ctype,
                    origin=CONVENTION,
                    why=f"{WHY_PROFILE}: the content types {self.profile.name} takes",
                )
            )
        body, problems, ok = self._parsed_request_body(request, ctype, media, opid)
        out += problems
        if ok:
            out += self._schema_findings(media, body, "request", opid, None)
        return out

    def _parsed_request_body(
        self, request: Request, ctype: str | None, media: MediaType, opid: str
    ) -> tuple[Any, list[Finding], bool]:
        """The body as data, the findings of decoding it, and whether there is data to judge."""
        body = request.body
        if ctype == MULTIPART:
            try:
                if request.body_raw:
                    body = parse_multipart(request.headers.get("content-type", ""), body)
            except ValueError as exc:
                return (
                    None,
                    [
                        self._undecodable(
                            "request",
                            opid,
                            None,
                            "multipart",
                            f"malformed multipart body: {exc}",
                            request.body,
                            media,
                            origin=(PUBLISHED, None),
                        )
                    ],
                    False,
                )
            return body, [], True
        if not request.body_raw:
            return body, [], True
        decoded = jsonsafe.loads(body if body is not None else b"")
        problems = []
        if decoded.problems:
            problems = self._json_problems(
                decoded, "request", opid, None, request.body, media, origin=(PUBLISHED, None)
            )
        return decoded.value, problems, decoded.ok


# The parser logs what it refuses; the refusal is a finding here, not a line on stderr.
logging.getLogger("python_multipart").addHandler(logging.NullHandler())


def parse_multipart(content_type: str, body: Any) -> dict[str, str]:
    """The fields of a multipart/form-data body; file parts become '<file name>' strings.

    python-multipart's parser (Starlette's), not the standard library's email parser: a
    form-data body is HTTP, not MIME mail (no transfer encodings, RFC 7578), and the email
    parser took 0.9 ms for three fields, the most of what judging a fuzz request costs."""
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    if not isinstance(body, (bytes, bytearray)):
        raise ValueError("multipart body must be text")
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise ValueError("Content-Type has no boundary")
    body = bytes(body)
    if b"\n" in body and b"\r\n" not in body:
        raise ValueError("its lines end in a bare LF; multipart needs CRLF (RFC 2046)")
    if not body.startswith(b"--" + boundary):
        # A preamble before the first boundary is allowed (RFC 2046) and means nothing.
        first = body.find(b"\r\n--" + boundary)
        body = body[first + 2 :] if first >= 0 else body
    parts = _Parts()
    try:
        MultipartParser(boundary, parts.callbacks()).write(body)
    except MultipartParseError as exc:
        raise ValueError(f"malformed part: {exc}") from None
    if not parts.parts or not parts.ended:
        raise ValueError("no parts, or the closing boundary is missing")
    return dict(_field(headers, data) for headers, data in parts.parts)


class _Parts:
    """What the parser's callbacks report: each part's headers and data, and the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self.ended = False
        self._field, self._value = bytearray(), bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": lambda: self.parts.append(({}, bytearray())),
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_part_data": lambda data, start, end: self.parts[-1][1].extend(data[start:end]),
            "on_end": self._end,
        }

    def _header_end(self) -> None:
        self.parts[-1][0][bytes(self._field).strip().lower()] = bytes(self._value).strip()
        self._field.clear()
        self._value.clear()

    def _end(self) -> None:
        self.ended = True


def _field(headers: dict[bytes, bytes], data: bytearray) -> tuple[str, str]:
    from python_multipart.multipart import parse_options_header

    raw = headers.get(b"content-disposition")
    disposition = parse_options_header(raw)[1]
    name = disposition.get(b"name")
    if not name:
        raise ValueError("a part has no name in Content-Disposition")
    filename = disposition.get(b"filename")
    if filename is None and raw is not None and b"filename*=" in raw:
        # RFC 7578 forbids the RFC 5987 form, which the parser drops, but older clients
        # (urllib3 1.x for a non-ASCII name) send it: the part is still a file.
        encoded = raw.split(b"filename*=", 1)[1].split(b";", 1)[0].strip().strip(b'"')
        filename = unquote_to_bytes(encoded.split(b"'", 2)[-1])
    if filename is not None:
        return _text(name), f"<file {_text(filename)}>"
    charset = parse_options_header(headers.get(b"content-type"))[1].get(b"charset", b"utf-8")
    try:
        return _text(name), bytes(data).decode(charset.decode("latin-1"), "replace")
    except LookupError:  # a charset Python does not know: read it as the default
        return _text(name), bytes(data).decode("utf-8", "replace")


def _text(value: bytes) -> str:
    """A header parameter as text: UTF-8 as browsers send it, else Latin-1 as HTTP defines it."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")

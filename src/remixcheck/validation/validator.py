"""Contract x profile x exchange -> findings. Schemas are compiled once per Validator.

The fast path compiles each schema of the contract with jsonschema-rs (the Rust
implementation of JSON Schema) and only walks errors when a body is invalid;
`reference_findings` runs the same exchange through openapi-core, the reference
implementation, and a differential test holds the two to the same answers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import jsonschema_rs

from remixcheck.contract import profiles as vendors
from remixcheck.contract.findings import Finding, Severity, Verdict, worst_verdict
from remixcheck.contract.origins import OBSERVATION, WHY_PROFILE, WHY_STATUSES
from remixcheck.contract.profiles import Profile, json_type
from remixcheck.contract.quoting import LIMIT, show, show_text
from remixcheck.contract.spec import (
    CONVENTION,
    PUBLISHED,
    Contract,
    MediaType,
    Operation,
    unixtime_format,
)
from remixcheck.traffic import jsonsafe
from remixcheck.traffic.exchange import Exchange, Request, media_type

JSON = "application/json"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class Route:
    operation: Operation
    video_id: str | None  # the raw path segment, percent-decoded
    base_path: str
    compat: bool


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    operation: str
    findings: tuple[Finding, ...]
    source: str = ""

    @property
    def verdict(self) -> Verdict:
        return worst_verdict(self.findings)


@dataclass(frozen=True, slots=True)
class _Compiled:
    validator: Any
    properties: frozenset[str] | None  # declared top-level properties of an object schema
    origin: str | None
    why: str | None
    pointer: str


class Validator:
    """Validates exchanges against the canonical contract under one vendor profile."""

    def __init__(self, profile: Profile, contract: Contract | None = None) -> None:
        self.profile = profile
        self.contract = contract or Contract.load()
        self._compiled: dict[str, _Compiled] = {}
        self._locations: dict[tuple[Any, ...], tuple[str, str | None, str | None]] = {}
        self._explained: dict[tuple[Any, ...], Any] = {}
        for media in self.contract.iter_media_types():
            self._compile(media)
        self._routes = [(op.method, op.segments, op) for op in self.contract.operations]
        # Longest prefix first so /v1/openai wins over /v1.
        self._prefixes = sorted(
            (
                (tuple(s for s in p.split("/") if s), p in profile.compat_base_paths, p)
                for p in profile.all_base_paths
            ),
            key=lambda t: -len(t[0]),
        )

    @classmethod
    def for_vendor(cls, vendor: str) -> Validator:
        return _for_vendor(vendor)

    def _compile(self, media: MediaType) -> _Compiled:
        compiled = self._compiled.get(media.schema_pointer)
        if compiled is None:
            validator = jsonschema_rs.Draft202012Validator(
                self.contract.schema_root(media.schema_pointer),
                formats={"unixtime": unixtime_format},
                validate_formats=False,
            )
            props = media.schema.get("properties")
            compiled = _Compiled(
                validator=validator,
                properties=frozenset(props) if isinstance(props, Mapping) else None,
                origin=media.schema.get("x-remixcheck-origin"),
                why=media.schema.get("x-remixcheck-why"),
                pointer=media.schema_pointer,
            )
            self._compiled[media.schema_pointer] = compiled
        return compiled

    # -- routing -------------------------------------------------------------

    def route(self, method: str, path: str) -> Route | None:
        """The operation a request is for, through the vendor's path prefixes; None when none."""
        segments = [s for s in path.split("/") if s]
        for prefix, compat, base in self._prefixes:
            if tuple(segments[: len(prefix)]) != prefix:
                continue
            rest = segments[len(prefix) :]
            for op_method, op_segments, op in self._routes:
                if op_method != method.upper() or len(op_segments) != len(rest):
                    continue
                video_id = None
                for want, got in zip(op_segments, rest, strict=True):
                    if want.startswith("{"):
                        video_id = unquote(got)
                    elif want != got:
                        break
                else:
                    return Route(op, video_id, base, compat)
        return None

    # -- exchanges -----------------------------------------------------------

    def validate(self, exchange: Exchange) -> ExchangeResult | None:
        """All findings for one exchange, or None when it is not a request to the contract."""
        route = self.route(exchange.request.method, exchange.request.path)
        if route is None:
            return None
        findings = self.check_request(exchange.request, route)
        if exchange.response is not None:
            r = exchange.response
            findings += self.check_response(
                route.operation, r.status, r.headers, r.body, raw=r.body_raw, truncated=r.truncated
            )
        return ExchangeResult(route.operation.operation_id, tuple(findings), exchange.source)

    # -- responses -----------------------------------------------------------

    def check_response(
        self,
        operation: Operation,
        status: int,
        headers: Mapping[str, str],
        body: Any,
        *,
        raw: bool = True,
        truncated: bool = False,
    ) -> list[Finding]:
        op = operation.operation_id
        spec = operation.response_for(status)
        out: list[Finding] = []
        if spec is None:
            declared = ", ".join(operation.responses)
            out.append(
                self._finding(
                    "response.status",
                    "response",
                    "status",
                    "",
                    op,
                    status,
                    f"status {status} is not declared for {op} (declared: {declared})",
                    expected=list(operation.responses),
                    actual=status,
                    spec_location=operation.pointer + "/responses",
                    origin=CONVENTION if status >= 300 else PUBLISHED,
                    why=WHY_STATUSES if status >= 300 else None,
                )
            )
            return out
        if not spec.content:
            return out
        ctype = media_type(headers)
        media = spec.content.get(ctype or "")
        if media is None:
            out.append(
                self._finding(
                    "response.content-type",
                    "response",
                    "content-type",
                    "content-type",
                    op,
                    status,
                    f"content type {ctype or '(none)'} is not declared for status {spec.status_key}",
                    expected=list(spec.content),
                    actual=ctype,
                    spec_location=spec.pointer + "/content",
                    origin=spec.origin,
                    why=spec.why,
                )
            )
            # Still judge the body when it is JSON in disguise (text/plain JSON is common).
            media = spec.content.get(JSON)
            if media is None:
                return out
        retry_after = headers.get("retry-after")
        if spec.status_key == "429" and retry_after is not None and not _delay_seconds(retry_after):
            # OpenAI's TooManyRequests response: an integer >= 1, which may be left out
            # (429s that need the user to act); present, it must be one.
            out.append(
                self._finding(
                    "response.header",
                    "response",
                    "header",
                    "retry-after",
                    op,
                    status,
                    f"Retry-After is {show(retry_after)}, not an integer >= 1",
                    severity=Severity.WARNING,
                    keyword="minimum",
                    expected="an integer >= 1",
                    actual=_capped(retry_after),
                    spec_location=spec.pointer + "/headers/Retry-After",
                    origin=spec.origin,
                    why=spec.why,
                )
            )
        if raw:
            if truncated:
                out.append(
                    self._finding(
                        "response.body",
                        "response",
                        "body",
                        "",
                        op,
                        status,
                        "response body was cut at the size cap; not validated",
                        keyword="size",
                        expected="a complete body",
                        actual="truncated",
                        spec_location=media.schema_pointer,
                        origin=OBSERVATION,
                        why="remixcheck reads at most --max-body-bytes of a body",
                    )
                )
                return out
            decoded = jsonsafe.loads(body if body is not None else b"")
            if decoded.problems:
                out += self._json_problems(
                    decoded, "response", op, status, body, media, origin=(spec.origin, spec.why)
                )
                if not decoded.ok:
                    return out
            body = decoded.value
        out += self._schema_findings(media, body, "response", op, status)
        return out

    # -- requests ------------------------------------------------------------

    def check_request(self, request: Request, route: Route) -> list[Finding]:
        op = route.operation
        opid = op.operation_id
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
        if route.video_id is not None and not self.profile.video_id.pattern.fullmatch(
            route.video_id
        ):
            out.append(
                self._finding(
                    "request.video-id",
                    "request",
                    "path",
                    "video_id",
                    opid,
                    None,
                    f"video id {show(route.video_id, 80)} is not in {self.profile.name}'s format (e.g. {self.profile.video_id.example})",
                    expected=self.profile.video_id.pattern.pattern,
                    actual=_capped(route.video_id),
                    origin=CONVENTION,
                    why=f"{WHY_PROFILE}: {self.profile.name} video ids",
                )
            )
        if not op.request_content:
            return out
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
        if ctype == MULTIPART:
            try:
                body = (
                    parse_multipart(request.headers.get("content-type", ""), body)
                    if request.body_raw
                    else body
                )
            except ValueError as exc:
                out.append(
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
                )
                return out
        elif request.body_raw:
            decoded = jsonsafe.loads(body if body is not None else b"")
            if decoded.problems:
                out += self._json_problems(
                    decoded, "request", opid, None, request.body, media, origin=(PUBLISHED, None)
                )
                if not decoded.ok:
                    return out
            body = decoded.value
        out += self._schema_findings(media, body, "request", opid, None)
        return out

    def _json_problems(
        self,
        decoded: jsonsafe.Decoded,
        where: str,
        op: str,
        status: int | None,
        body: Any,
        media: MediaType,
        *,
        origin: tuple[str, str | None],
    ) -> list[Finding]:
        """One finding per way a body is not RFC 8259 JSON (see jsonsafe); never an exception."""
        out = []
        for problem in decoded.problems:
            keyword = "json" if problem.kind == jsonsafe.SYNTAX else problem.kind
            message = f"body is not valid JSON: {problem.message}"
            if problem.pointer:
                out.append(
                    self._finding(
                        f"{where}.body",
                        where,
                        "body",
                        problem.pointer,
                        op,
                        status,
                        message,
                        keyword=keyword,
                        expected="RFC 8259 JSON",
                        actual=problem.kind,
                        spec_location=media.schema_pointer,
                        origin=origin[0],
                        why=origin[1],
                    )
                )
            else:
                out.append(
                    self._undecodable(
                        where, op, status, keyword, message, body, media, origin=origin
                    )
                )
        return out

    def _undecodable(
        self,
        where: str,
        op: str,
        status: int | None,
        keyword: str,
        message: str,
        body: Any,
        media: MediaType,
        *,
        origin: tuple[str, str | None],
    ) -> Finding:
        """The finding for a body that is not the JSON or multipart its content type says."""
        return self._finding(
            f"{where}.body",
            where,
            "body",
            "",
            op,
            status,
            message,
            keyword=keyword,
            expected="multipart/form-data" if keyword == "multipart" else "RFC 8259 JSON",
            actual=_excerpt(body),
            spec_location=media.schema_pointer,
            origin=origin[0],
            why=origin[1],
        )

    # -- schema --------------------------------------------------------------

    def _schema_findings(
        self, media: MediaType, body: Any, where: str, op: str, status: int | None
    ) -> list[Finding]:
        compiled = self._compiled.get(media.schema_pointer) or self._compile(media)
        out: list[Finding] = []
        if not compiled.validator.is_valid(body):
            errors = [
                f
                for err in compiled.validator.iter_errors(body)
                for f in self._error_findings(err, where, op, status, compiled)
            ]
            out += _drop_consequences(errors)
        if compiled.properties is not None and isinstance(body, dict):
            # OpenAI's schemas are open (no additionalProperties): an undeclared field is
            # allowed, so it is an observation, which a profile may name as its dialect.
            request = where == "request"
            for key in sorted(body.keys() - compiled.properties, key=str):
                out.append(
                    self._finding(
                        "request.body" if request else "response.extra-property",
                        where,
                        "body",
                        "/" + _escape(str(key)),
                        op,
                        status,
                        f"property {show(key)} is not in the contract (allowed, but a dialect marker)",
                        severity=Severity.INFO,
                        keyword="additionalProperties" if request else "properties",
                        expected=None,
                        actual=json_type(body[key]),
                        spec_location=compiled.pointer + "/properties",
                        origin=OBSERVATION,
                        why="the schema allows other properties; which ones a server adds marks its dialect",
                    )
                )
        return out

    def _error_findings(
        self, err: Any, where: str, op: str, status: int | None, compiled: _Compiled
    ) -> list[Finding]:
        kind = err.kind
        name = type(kind).__name__
        pointer = _pointer(err.instance_path)
        location, origin, why = self._locate(tuple(err.schema_path))
        if origin is None:
            origin, why = compiled.origin, compiled.why
        check = f"{where}.body"
        if name == "AnyOf":
            nested = _best_branch(kind.context, list(err.instance_path))
            if nested is not None:
                return [
                    f for e in nested for f in self._error_findings(e, where, op, status, compiled)
                ]
            types = sorted(
                {
                    t
                    for branch in kind.context
                    for e in branch
                    if type(e.kind).__name__ == "Type"
                    for t in e.kind.types
                }
            )
            return [
                self._finding(
                    check,
                    where,
                    "body",
                    pointer,
                    op,
                    status,
                    f"{show(err.instance)} is not of type {' or '.join(types) or 'any allowed schema'}",
                    keyword="type" if types else "anyOf",
                    expected=types,
                    actual=err.instance,
                    spec_location=location,
                    origin=origin,
                    why=why,
                )
            ]
        if name == "Required":
            prop = str(kind.property)
            return [
                self._finding(
                    check,
                    where,
                    "body",
                    f"{pointer.rstrip('/')}/{_escape(prop)}" if pointer else f"/{_escape(prop)}",
                    op,
                    status,
                    f"required property {show(prop)} is missing",
                    keyword="required",
                    expected="present",
                    actual="missing",
                    spec_location=location,
                    origin=origin,
                    why=why,
                )
            ]
        if name == "AdditionalProperties":
            return [
                self._finding(
                    check,
                    where,
                    "body",
                    f"{pointer}/{_escape(str(p))}",
                    op,
                    status,
                    f"property {show(p)} is not allowed here",
                    keyword="additionalProperties",
                    expected="no other properties",
                    actual=p,
                    spec_location=location,
                    origin=origin,
                    why=why,
                )
                for p in kind.unexpected
            ]
        keyword = _KEYWORDS.get(name, name[:1].lower() + name[1:])
        expected: Any = None
        actual: Any = err.instance
        if name == "Type":
            expected = list(kind.types)
        elif name == "Enum":
            expected = list(kind.options)
        elif name == "Constant":
            expected = kind.expected_value
        elif name in ("MinLength", "MaxLength"):
            expected = kind.limit
            actual = len(err.instance) if isinstance(err.instance, str) else err.instance
        elif hasattr(kind, "limit"):
            expected = kind.limit
        return [
            self._finding(
                check,
                where,
                "body",
                pointer,
                op,
                status,
                _message(err),
                keyword=keyword,
                expected=expected,
                actual=_capped(actual),
                spec_location=location,
                origin=origin,
                why=why,
            )
        ]

    def _locate(self, schema_path: tuple[Any, ...]) -> tuple[str, str | None, str | None]:
        """The spec location, origin and why of a schema path, computed once per path."""
        found = self._locations.get(schema_path)
        if found is None:
            location = "#/" + "/".join(_escape(str(p)) for p in schema_path)
            found = self._locations[schema_path] = (location, *self._origin_of(list(schema_path)))
        return found

    def _origin_of(self, schema_path: list[Any]) -> tuple[str | None, str | None]:
        """The innermost x-remixcheck-origin along a schema location, with its x-remixcheck-why."""
        node: Any = self.contract.document
        origin = why = None
        for token in schema_path:
            if isinstance(node, Mapping):
                if "x-remixcheck-origin" in node:
                    origin, why = node["x-remixcheck-origin"], node.get("x-remixcheck-why")
                node = node.get(token) if isinstance(token, str) else None
            elif isinstance(node, list) and isinstance(token, int) and token < len(node):
                node = node[token]
            else:
                break
        return origin, why

    def _finding(
        self,
        check: str,
        where: str,
        location: str,
        pointer: str,
        operation: str | None,
        status: int | None,
        message: str,
        *,
        severity: Severity = Severity.ERROR,
        keyword: str | None = None,
        expected: Any = None,
        actual: Any = None,
        spec_location: str | None = None,
        origin: str | None = None,
        why: str | None = None,
    ) -> Finding:
        # The same finding shapes recur across exchanges; matching them is the slow part.
        key = (check, where, operation, status, keyword, pointer, json_type(actual))
        deviation = self._explained.get(key, _UNSEEN)
        if deviation is _UNSEEN:
            if len(self._explained) > _EXPLAIN_CACHE_MAX:
                self._explained.clear()  # pointers of unknown keys are unbounded
            deviation = self._explained[key] = self.profile.explain(
                check=check,
                where=where,
                operation=operation,
                status=status,
                keyword=keyword,
                pointer=pointer,
                actual=actual,
            )
        if deviation is not None:
            verdict = Verdict.DEVIATION
        else:
            verdict = Verdict.PASS if severity is Severity.INFO else Verdict.VIOLATION
        if origin is None:
            # Error responses are ours to declare; everything else is OpenAI's document.
            origin = CONVENTION if status is not None and status >= 400 else PUBLISHED
        return Finding(
            check=check,
            verdict=verdict,
            severity=severity,
            message=message,
            where=where,
            location=location,
            pointer=pointer,
            operation=operation,
            keyword=keyword,
            expected=expected,
            actual=actual,
            spec_location=spec_location,
            origin=origin,
            origin_why=why,
            deviation=deviation,
            status=status,
        )


# A value of the wrong type also fails its enum, const and length keywords; one finding says it.
_CONSEQUENCES = frozenset(
    {"enum", "const", "minLength", "maxLength", "pattern", "format", "minimum", "maximum"}
)


def _drop_consequences(findings: list[Finding]) -> list[Finding]:
    typed = {f.pointer for f in findings if f.keyword == "type"}
    if not typed:
        return findings
    return [f for f in findings if not (f.pointer in typed and f.keyword in _CONSEQUENCES)]


_UNSEEN = object()
_EXPLAIN_CACHE_MAX = 10_000

_KEYWORDS = {
    "Constant": "const",
    "MinLength": "minLength",
    "MaxLength": "maxLength",
    "OneOfNotValid": "oneOf",
}


@functools.cache
def _for_vendor(vendor: str) -> Validator:
    return Validator(vendors.load(vendor))


def _best_branch(branches: Iterable[list[Any]], at: list[Any]) -> list[Any] | None:
    """The anyOf branch worth reporting: the one the instance's type fits (as jsonschema's best_match)."""
    fitting = [
        b
        for b in branches
        if not any(type(e.kind).__name__ == "Type" and list(e.instance_path) == at for e in b)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(path: Iterable[Any]) -> str:
    return "".join("/" + _escape(str(p)) for p in path)


def _delay_seconds(value: str) -> bool:
    """Whether a Retry-After value is what OpenAI's TooManyRequests declares: an integer >= 1."""
    text = value.strip()
    return text.isascii() and text.isdigit() and int(text) >= 1


def _capped(value: Any) -> Any:
    """A value to keep as `actual`: itself when small, else its capped quotation."""
    if isinstance(value, (str, dict, list)) and len(show(value)) > LIMIT + 2:
        return show(value)
    return value


def _message(err: Any) -> str:
    """jsonschema-rs's message with the instance it opens with quoted by `show` (capped)."""
    message = str(err.message)
    try:
        compact = json.dumps(err.instance, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        compact = ""
    if compact and message.startswith(compact):
        return show(err.instance) + message[len(compact) :]
    return show_text(message, 2 * LIMIT)


def _excerpt(body: Any) -> str:
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body[: 4 * LIMIT]).decode("utf-8", "replace")
    return show_text(str(body) if body is not None else "")


def parse_multipart(content_type: str, body: Any) -> dict[str, str]:
    """The fields of a multipart/form-data body; file parts become '<file name>' strings."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    if not isinstance(body, (bytes, bytearray)):
        raise ValueError("multipart body must be text")
    if "boundary=" not in content_type:
        raise ValueError("Content-Type has no boundary")
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + bytes(body)
    )
    if not msg.is_multipart():
        raise ValueError("not a multipart message")
    fields: dict[str, str] = {}
    parts = list(msg.iter_parts())
    if not parts or msg.defects:
        raise ValueError("no parts, or the closing boundary is missing")
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("a part has no name in Content-Disposition")
        filename = part.get_filename()
        if filename is not None:
            fields[str(name)] = f"<file {filename}>"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = data.decode(part.get_content_charset() or "utf-8", "replace")
    return fields

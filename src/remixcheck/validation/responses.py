"""A response judged against the contract: declared status, headers, media type, body schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.origins import OBSERVATION, WHY_STATUSES
from remixcheck.contract.quoting import show
from remixcheck.contract.spec import (
    CONVENTION,
    PUBLISHED,
    MediaType,
    Operation,
    ResponseSpec,
)
from remixcheck.traffic import jsonsafe
from remixcheck.traffic.exchange import media_type
from remixcheck.validation.judging import CompiledSchema
from remixcheck.validation.requests import JSON
from remixcheck.validation.schema_errors import capped
from remixcheck.validation.schema_judging import SchemaJudging


@dataclass(frozen=True, slots=True)
class _Expected:
    """What a response with one (operation, status, content type) is judged against.

    All of it follows from those three, and a capture repeats a handful of them, so it is
    worked out once per combination instead of once per response."""

    head: tuple[Finding, ...]  # the status and content-type findings
    spec: ResponseSpec | None
    media: MediaType | None  # None: no body to judge
    compiled: CompiledSchema | None  # the media type's schema


class ResponseChecks(SchemaJudging):
    """A response judged: status declared, headers, media type, body against its schema."""

    _expected: dict[tuple[str, int, str | None], _Expected]

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
        key = (operation.operation_id, status, headers.get("content-type"))
        expected = self._expected.get(key) or self._expect(operation, status, headers, key)
        spec, media, compiled = expected.spec, expected.media, expected.compiled
        out = list(expected.head) if expected.head else []
        if spec is None or media is None or compiled is None:
            return out
        if spec.status_key == "429":
            retry_after = headers.get("retry-after")
            if retry_after is not None and not _delay_seconds(retry_after):
                out.append(self._retry_after_finding(spec, key[0], status, retry_after))
        if raw and not truncated and body:
            value = jsonsafe.clean(body)
            if value is not jsonsafe.NOT_CLEAN:  # the common case: no Decoded is built
                found = self._compiled_findings(compiled, value, "response", key[0], status)
                return out + found if out else found
        found = self._response_body_findings(
            media, spec, key[0], status, body, raw=raw, truncated=truncated
        )
        return out + found if out else found

    def _expect(
        self,
        operation: Operation,
        status: int,
        headers: Mapping[str, str],
        key: tuple[str, int, str | None],
    ) -> _Expected:
        op = operation.operation_id
        spec = operation.response_for(status)
        if spec is None:
            declared = ", ".join(operation.responses)
            finding = self._finding(
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
            return self._keep(key, _Expected((finding,), None, None, None))
        if not spec.content:
            return self._keep(key, _Expected((), spec, None, None))
        ctype = media_type(headers)
        media = spec.content.get(ctype or "")
        if media is not None:
            return self._keep(key, _Expected((), spec, media, self._compile(media)))
        finding = self._finding(
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
        # Still judge the body when it is JSON in disguise (text/plain JSON is common).
        media = spec.content.get(JSON)
        compiled = self._compile(media) if media is not None else None
        return self._keep(key, _Expected((finding,), spec, media, compiled))

    def _keep(self, key: tuple[str, int, str | None], expected: _Expected) -> _Expected:
        # Content-type values come from the server: keep only the first few distinct ones.
        if len(self._expected) < 256:
            self._expected[key] = expected
        return expected

    def _retry_after_finding(
        self, spec: ResponseSpec, op: str, status: int, retry_after: str
    ) -> Finding:
        # OpenAI's TooManyRequests response: an integer >= 1, which may be left out
        # (429s that need the user to act); present, it must be one.
        return self._finding(
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
            actual=capped(retry_after),
            spec_location=spec.pointer + "/headers/Retry-After",
            origin=spec.origin,
            why=spec.why,
        )

    def _response_body_findings(
        self,
        media: MediaType,
        spec: ResponseSpec,
        op: str,
        status: int,
        body: Any,
        *,
        raw: bool,
        truncated: bool,
    ) -> list[Finding]:
        """A body check_response's fast path did not take: cut at the cap, not clean JSON
        (jsonsafe.loads says why), or handed in already decoded (raw=False)."""
        if raw:
            if truncated:
                return [
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
                ]
            decoded = jsonsafe.loads(body if body is not None else b"")
            out: list[Finding] = []
            if decoded.problems:
                out = self._json_problems(
                    decoded, "response", op, status, body, media, origin=(spec.origin, spec.why)
                )
                if not decoded.ok:
                    return out
            return out + self._schema_findings(media, decoded.value, "response", op, status)
        return self._schema_findings(media, body, "response", op, status)


def _delay_seconds(value: str) -> bool:
    """Whether a Retry-After value is what OpenAI's TooManyRequests declares: an integer >= 1."""
    text = value.strip()
    return text.isascii() and text.isdigit() and int(text) >= 1

"""What a fuzz request calls for (`expect`): a request the contract calls invalid must get a 4xx,
a valid one for a completed video a 2xx, one without a key a 401; decided from the bytes sent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.profiles import Profile
from remixcheck.contract.quoting import show, show_text
from remixcheck.contract.spec import Operation
from remixcheck.fuzzing.cases import GENERATED, HOSTILE, JOB, REMIX_OP, SOURCE, UNKNOWN, FuzzRequest
from remixcheck.traffic.exchange import media_type


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the contract calls for, given the request alone."""

    kind: str  # accept | reject | auth | not-found | method | any
    why: str
    statuses: tuple[int, ...] = ()  # exact statuses, when the contract names them
    invalid: tuple[Finding, ...] = ()  # why the request is invalid (request findings)
    dialect_gap: bool = False  # valid by the contract, outside what the vendor takes
    # What is most particular about the request, for naming a failure it caused (a 5xx):
    # "the JSON body is not an object (0)" rather than the id or key it also carries.
    cause: str = ""


NO_BODY = object()


def expect(
    request: FuzzRequest,
    operation: Operation | None,
    request_findings: list[Finding],
    profile: Profile,
    body: Any = NO_BODY,
    undeclared: tuple[str, ...] = (),
) -> Expectation:
    """What the contract calls for, and the cause label of the case, computed once here."""
    e = _expect(request, operation, request_findings, profile, undeclared)
    return replace(e, cause=cause_of(request, e, body))


def cause_of(request: FuzzRequest, e: Expectation, body: Any) -> str:
    """The one label a case's failures go by, in the fuzz summary, its case file and replay."""
    json_body = (request.content_type or "").split(";")[0].strip().lower() == "application/json"
    if json_body and body is not NO_BODY and not isinstance(body, dict):
        return f"the JSON body is not an object ({show(body, 60)})"
    if e.invalid:
        first = e.invalid[0]
        return f"the request is invalid ({first.pointer or first.location}: {show_text(first.message, 120)})"
    return e.why


def _expect(
    request: FuzzRequest,
    operation: Operation | None,
    request_findings: list[Finding],
    profile: Profile,
    undeclared: tuple[str, ...] = (),
) -> Expectation:
    """What the contract calls for. `undeclared`: body fields the operation's schema does not
    declare; OpenAI's document leaves its bodies open and says nothing of what a server does
    with them, so such a request may be accepted or refused (a dialect fact, never a verdict).
    """
    if operation is None:
        return Expectation("method", f"{request.method} is not declared for this path")
    ctype = media_type({"content-type": request.content_type} if request.content_type else {})
    dialect_gap = (
        ctype is not None
        and ctype in operation.request_content
        and ctype not in profile.content_types
    )
    invalid = tuple(
        f
        for f in request_findings
        if f.check in ("request.body", "request.content-type")
        and f.severity is not Severity.INFO
        and not (f.check == "request.content-type" and ctype in operation.request_content)
    )
    unreadable = [f for f in invalid if f.keyword == "multipart"]
    if unreadable and "boundary=" in (request.content_type or "") and request.body:
        # A multipart body remixcheck cannot read (a part named "", say) is not shown to be
        # invalid by that: make no claim about how the server should answer it.
        return Expectation(
            "any", f"a multipart body remixcheck cannot read ({unreadable[0].message})"
        )
    if request.auth != "valid":
        what = "no key" if request.auth == "none" else "a wrong key"
        clean = not invalid and request.id_kind in (SOURCE, UNKNOWN, JOB, None)
        return Expectation(
            "auth", f"a request with {what}", (401,) if clean else (), invalid, dialect_gap
        )
    if invalid:
        return Expectation("reject", "the request is invalid", (), invalid, dialect_gap)
    if request.id_kind == UNKNOWN and undeclared:
        # What OpenAI's server does with an unknown field is undocumented (the document
        # leaves the body open): refusing it (400) before the video is looked up is as
        # faithful as the 404.
        why = (
            "the video does not exist, and the body has field(s) OpenAI's document does not "
            f"declare ({show(list(undeclared[:3]))})"
        )
        return Expectation("not-found", why, (404, 400), (), dialect_gap)
    if request.id_kind == UNKNOWN:
        return Expectation("not-found", "the video does not exist", (404,), (), dialect_gap)
    if undeclared and request.id_kind not in (GENERATED, HOSTILE):
        return Expectation(
            "any",
            f"a body with field(s) OpenAI's document does not declare ({show(list(undeclared[:3]))}): "
            "accepting and refusing are both faithful",
        )
    if request.id_kind in (GENERATED, HOSTILE):
        return Expectation("reject", f"the id {show(request.video_id, 80)} names no video")
    if request.id_kind == JOB and request.operation == REMIX_OP:
        # A job this run started may or may not have completed by now: 200, 400 or 409.
        return Expectation("any", "remix of a job this run started", (200, 400, 409))
    return Expectation("accept", "a valid request", (), (), dialect_gap)

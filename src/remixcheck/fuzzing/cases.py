"""One fuzz case as plain data: what it expects, how its answer is judged, its case file, replay.

Nothing here imports schemathesis (only `fuzz.py` does), so `remixcheck replay` starts fast.
A case is judged by the validation core (every response against the contract, under the
vendor profile) plus the expectation the request itself calls for: a request the contract
calls invalid must get a 4xx, a valid one for a completed video a 2xx, one without a key a
401. Whether a request is invalid is decided from the bytes that were sent, by the same
validator, so a "negative" case that serialises to valid data (a number in a multipart
field is text) is judged as the valid request it is.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from remixcheck.conformance.checks.context import evidence
from remixcheck.conformance.transport import Sent, Transport, TransportError, TransportSettings
from remixcheck.contract.findings import Finding, Severity, Verdict, worst_verdict
from remixcheck.contract.origins import CONVENTION, PUBLISHED, WHY_AUTH, WHY_INVALID, WHY_STATUSES
from remixcheck.contract.profiles import Profile
from remixcheck.contract.quoting import show, show_text
from remixcheck.contract.spec import Operation
from remixcheck.fuzzing.casefile import CASE_SCHEMA, CASE_VERSION
from remixcheck.fuzzing.envelope import undeclared_error_findings
from remixcheck.results.model import CheckResult, Evidence, Outcome, scrub, write_json
from remixcheck.traffic.exchange import Request, decode_json, media_type
from remixcheck.validation.validator import MULTIPART, Route, Validator, parse_multipart

if TYPE_CHECKING:
    from remixcheck.conformance.targets import Target

FAMILY = "fuzz"
EVIDENCE_PER_CHECK = 3


@dataclass(frozen=True, slots=True)
class FuzzCheck:
    id: str
    title: str
    description: str
    origin: str = CONVENTION  # where the rule comes from (origins.py), and why
    why: str = ""


FUZZ_CHECKS: tuple[FuzzCheck, ...] = (
    FuzzCheck(
        "fuzz.contract",
        "Fuzzed responses meet the contract",
        "Every response to a generated request is validated by remixcheck's validation core "
        "(body schema, content type, headers) under the vendor profile.",
        PUBLISHED,
        "each finding names the origin of the part of the contract it breaks",
    ),
    FuzzCheck(
        "fuzz.status-conformance",
        "Declared and expected statuses",
        "Every status is declared for its operation, and is the one the case calls for "
        "(404 for an id in the vendor's format that does not exist).",
        CONVENTION,
        WHY_STATUSES,
    ),
    FuzzCheck(
        "fuzz.server-error",
        "No server errors",
        "No generated request, valid or not, gets a 5xx (501 Not Implemented for a method "
        "the server does not implement is HTTP's answer, not a server error).",
        CONVENTION,
        "OpenAI's API answers bad input with 4xx; a 5xx says the server failed",
    ),
    FuzzCheck(
        "fuzz.negative-data-rejection",
        "Invalid requests are rejected",
        "A request the contract calls invalid (boundary and non-string prompts, unknown "
        "content types, hostile ids) gets a 4xx, never a 2xx.",
        CONVENTION,
        WHY_INVALID,
    ),
    FuzzCheck(
        "fuzz.positive-data-acceptance",
        "Valid requests are accepted",
        "A valid remix of a completed video, a valid create and a retrieve of an existing "
        "video get a 2xx.",
        PUBLISHED,
        "OpenAI's document answers valid requests with 200",
    ),
    FuzzCheck(
        "fuzz.ignored-auth",
        "Auth is enforced",
        "A request without a key, or with a wrong one, gets 401.",
        CONVENTION,
        WHY_AUTH,
    ),
    FuzzCheck(
        "fuzz.unsupported-method",
        "Undeclared methods are refused",
        "A method the contract does not declare for a path is refused: a 4xx, or 501 Not "
        "Implemented (405 and 501 are both HTTP's answers; sent to loopback targets, or with --unsafe).",
        CONVENTION,
        "HTTP: a server refuses a method it does not allow (405) or implement (501); OpenAI documents neither",
    ),
    FuzzCheck(
        "fuzz.invariants",
        "Jobs keep their invariants",
        "An accepted remix is a new job that names its source and echoes its prompt; a "
        "retrieved job keeps its id and never goes back in status or progress.",
        PUBLISHED,
        "the meaning of the Video fields in OpenAI's document; status only moves forward for OpenAI's SDK to poll",
    ),
)
CHECK_IDS = tuple(c.id for c in FUZZ_CHECKS)
_BY_ID = {c.id: c for c in FUZZ_CHECKS}

# Id kinds: which video a request names, which decides what the contract expects of it.
SOURCE, UNKNOWN, JOB, GENERATED, HOSTILE = "source", "unknown", "job", "generated", "hostile"
REMIX_OP, CREATE_OP, RETRIEVE_OP = "CreateVideoRemix", "createVideo", "GetVideo"

_STATUS_RANK = {"queued": 0, "in_progress": 1, "completed": 2, "failed": 2}


@dataclass(frozen=True, slots=True)
class FuzzRequest:
    """One request of a fuzz run, exactly as sent; everything its judgement and replay need."""

    operation: str | None  # contract operationId; None when the method is not declared
    method: str
    path: str  # the raw request target, base path and query included, sent byte for byte
    base_path: str
    body: bytes | None
    content_type: str | None
    auth: str  # valid | none | invalid
    id_kind: str | None  # SOURCE, UNKNOWN, JOB, GENERATED, HOSTILE; None without an id
    video_id: str | None  # the id as the server decodes it
    origin: str  # remixcheck | schemathesis-coverage | schemathesis-fuzzing
    description: str
    target: str = ""  # the target's name, so cases of several targets never share an id

    @property
    def case_id(self) -> str:
        """Stable across runs: the same request to the same target always has the same id."""
        digest = hashlib.sha256()
        for part in (self.target, self.method, self.path, self.content_type or "", self.auth):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(self.body or b"")
        return digest.hexdigest()[:12]

    @property
    def signature(self) -> tuple[str, str, str | None, str, bytes | None]:
        return (self.method, self.path, self.content_type, self.auth, self.body)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"body": None, "body_encoding": None}
        if self.body is not None:
            try:
                body = {"body": self.body.decode("utf-8"), "body_encoding": "utf-8"}
            except UnicodeDecodeError:
                body = {"body": base64.b64encode(self.body).decode(), "body_encoding": "base64"}
        return {
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "base_path": self.base_path,
            "content_type": self.content_type,
            "auth": self.auth,
            "id_kind": self.id_kind,
            "video_id": self.video_id,
            "origin": self.origin,
            "description": self.description,
            "target": self.target,
            **body,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FuzzRequest:
        raw = data.get("body")
        encoding = data.get("body_encoding")
        body = None
        if raw is not None:
            body = base64.b64decode(raw) if encoding == "base64" else str(raw).encode("utf-8")
        return cls(
            operation=data.get("operation"),
            method=str(data["method"]),
            path=str(data["path"]),
            base_path=str(data.get("base_path", "")),
            body=body,
            content_type=data.get("content_type"),
            auth=str(data.get("auth", "valid")),
            id_kind=data.get("id_kind"),
            video_id=data.get("video_id"),
            origin=str(data.get("origin", "")),
            description=str(data.get("description", "")),
            target=str(data.get("target", "")),
        )


def exposed(request: FuzzRequest, operation: Operation | None) -> bool:
    """Whether the server could start a paid job for this request, were it to accept it.

    Without a valid key there is no account to bill; a remix of a video that does not exist
    starts nothing. Everything else sent with the key to a billable operation could.
    """
    if operation is None or not operation.billable or request.method != "POST":
        return False
    if request.auth != "valid":
        return False
    return request.operation == CREATE_OP or request.id_kind in (SOURCE, JOB)


# -- expectations ---------------------------------------------------------------------------


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


# -- state a run accumulates -----------------------------------------------------------------


@dataclass(slots=True)
class Observed:
    """What a run learned from earlier answers: jobs it started, the last view of each video."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> remixed_from
    last: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> status, progress
    # Jobs a remix was accepted for, before anyone knew they were completed: id -> remix case.
    awaiting: dict[str, str] = field(default_factory=dict)

    def context_for(self, video_id: str | None) -> dict[str, Any]:
        """The part of the state a replay needs to judge a case on this id again."""
        if video_id is None:
            return {}
        out: dict[str, Any] = {}
        if video_id in self.last:
            out["previous"] = dict(self.last[video_id])
        if video_id in self.jobs:
            out["job"] = dict(self.jobs[video_id])
        if video_id in self.awaiting:
            out["remix_accepted_in_case"] = self.awaiting[video_id]
        return out

    @classmethod
    def from_context(cls, video_id: str | None, context: Mapping[str, Any]) -> Observed:
        state = cls()
        if video_id is not None:
            if isinstance(context.get("previous"), dict):
                state.last[video_id] = dict(context["previous"])
            if isinstance(context.get("job"), dict):
                state.jobs[video_id] = dict(context["job"])
            if isinstance(context.get("remix_accepted_in_case"), str):
                state.awaiting[video_id] = context["remix_accepted_in_case"]
        return state


# -- judging one answer ------------------------------------------------------------------------


@dataclass(slots=True)
class Judgement:
    request: FuzzRequest
    expectation: Expectation
    status: int | None
    findings: list[tuple[str, Finding]]  # (fuzz check id, finding)
    applies: set[str]  # fuzz checks that judged this case
    accepted_billable: bool = False
    context: dict[str, Any] = field(default_factory=dict)  # state the judgement relied on
    follow_up: FuzzRequest | None = None  # a request that settles what this answer left open
    sent_body: Any = None  # the request body as decoded for judging (JSON value, form fields)

    @property
    def verdict(self) -> Verdict:
        return worst_verdict([f for _, f in self.findings])


class Judge:
    """Judges the answers of one target, keeping the state that spans requests."""

    def __init__(self, validator: Validator, state: Observed | None = None) -> None:
        self.validator = validator
        self.profile = validator.profile
        self.contract = validator.contract
        self.state = state or Observed()

    def operation(self, request: FuzzRequest) -> Operation | None:
        return self.contract.operation(request.operation) if request.operation else None

    def judge(self, request: FuzzRequest, sent: Sent) -> Judgement:
        op = self.operation(request)
        decoded = _decoded(sent.exchange.request)
        req_findings: list[Finding] = []
        if op is not None:
            route = Route(
                op,
                request.video_id,
                request.base_path,
                request.base_path in self.profile.compat_base_paths,
            )
            req_findings = self.validator.check_request(decoded, route)
        expectation = expect(
            request,
            op,
            req_findings,
            self.profile,
            NO_BODY if decoded.body_raw else decoded.body,
            _undeclared(op, decoded) if op else (),
        )
        if (
            expectation.kind == "accept"
            and request.operation == REMIX_OP
            and request.id_kind == SOURCE
        ):
            last = self.state.last.get(request.video_id or "", {}).get("status")
            if last is not None and last != "completed":
                # A precondition, not a verdict: the source was not completed when last read.
                expectation = Expectation(
                    "any",
                    f"a remix of the source video, which was {show(last)} when last read",
                    (200, 400, 409),
                )
        context = self.state.context_for(request.video_id)
        resp = sent.exchange.response
        assert resp is not None
        status = resp.status
        out = Judgement(request, expectation, status, [], {"fuzz.server-error"}, context=context)
        out.sent_body = None if decoded.body_raw else decoded.body
        if op is not None:
            out.applies |= {"fuzz.contract", "fuzz.status-conformance"}
            for f in self.validator.check_response(
                op, status, resp.headers, resp.body, raw=resp.body_raw, truncated=resp.truncated
            ):
                if f.severity is Severity.INFO and not f.deviation:
                    continue
                check = (
                    "fuzz.status-conformance" if f.check == "response.status" else "fuzz.contract"
                )
                out.findings.append((check, f))
        if status == 501 and op is None:
            # HTTP's answer to a method the server does not implement (RFC 9110, 15.6.2):
            # as good a refusal of an undeclared method as 405.
            out.applies.add("fuzz.unsupported-method")
            return out
        framework = undeclared_error_findings(
            self.validator,
            op,
            status,
            resp.headers,
            resp.body,
            raw=resp.body_raw,
            truncated=resp.truncated,
        )
        if framework:
            out.applies.add("fuzz.contract")
            out.findings += [("fuzz.contract", f) for f in framework]
        if status >= 500:
            out.findings.append(
                (
                    "fuzz.server-error",
                    self._finding(
                        "fuzz.server-error",
                        f"{expectation.cause} got {status}",
                        request,
                        status,
                        expected="not 5xx",
                    ),
                )
            )
            return out
        if status == 429:
            return out  # rate limited past the Retry-After budget: the answer says nothing about the case
        self._expectations(out, op)
        if 200 <= status < 300:
            out.accepted_billable = exposed(request, op)
            body = sent.json()
            if isinstance(body, dict) and op is not None:
                self._invariants(out, body)
            if request.id_kind == JOB and request.operation == REMIX_OP and request.video_id:
                # Accepted, but was the job completed? If it is not even now, it was not then.
                self.state.awaiting[request.video_id] = request.case_id
                out.follow_up = replace(
                    request,
                    operation=RETRIEVE_OP,
                    method="GET",
                    path=request.path.removesuffix("/remix"),
                    body=None,
                    content_type=None,
                    description="retrieve the job a remix was just accepted for",
                )
        return out

    def _expectations(self, out: Judgement, op: Operation | None) -> None:
        request, e, status = out.request, out.expectation, out.status
        assert status is not None
        ok = 200 <= status < 300
        if e.kind == "method":
            out.applies.add("fuzz.unsupported-method")
            if ok:
                out.findings.append(
                    (
                        "fuzz.unsupported-method",
                        self._finding(
                            "fuzz.unsupported-method",
                            f"{e.why}, yet it was answered {status}",
                            request,
                            status,
                            expected="4xx",
                        ),
                    )
                )
        elif e.kind == "auth":
            out.applies.add("fuzz.ignored-auth")
            analog = "negative.missing-auth" if request.auth == "none" else "negative.invalid-key"
            if ok or (e.statuses and status not in e.statuses):
                want = " or ".join(map(str, e.statuses)) if e.statuses else "4xx"
                out.findings.append(
                    (
                        "fuzz.ignored-auth",
                        self._finding(
                            "fuzz.ignored-auth",
                            f"{e.why} got {status}, expected {want}",
                            request,
                            status,
                            expected=list(e.statuses) or "4xx",
                            analogs=(analog,),
                        ),
                    )
                )
        elif e.kind == "reject":
            out.applies.add("fuzz.negative-data-rejection")
            if ok:
                out.findings.append(
                    ("fuzz.negative-data-rejection", self._accepted_invalid(request, e, status))
                )
        elif e.kind == "not-found":
            analog = (
                "negative.unknown-video"
                if request.operation == REMIX_OP
                else "negative.retrieve-unknown"
            )
            if status not in e.statuses:
                out.findings.append(
                    (
                        "fuzz.status-conformance",
                        self._finding(
                            "fuzz.status-conformance",
                            f"{e.why}: expected 404, got {status}",
                            request,
                            status,
                            expected=[404],
                            analogs=(analog,),
                            explained=self._dialect_deviation(request, status)
                            if e.dialect_gap and 400 <= status < 500
                            else None,
                        ),
                    )
                )
        elif e.kind == "accept":
            out.applies.add("fuzz.positive-data-acceptance")
            if not ok and 400 <= status < 500:
                out.findings.append(
                    ("fuzz.positive-data-acceptance", self._rejected_valid(request, e, status))
                )

    def _accepted_invalid(self, request: FuzzRequest, e: Expectation, status: int) -> Finding:
        """An invalid request answered 2xx: a violation unless the vendor documents taking it."""
        explained = [self._explain_invalid(f, request, status) for f in e.invalid]
        first = e.invalid[0] if e.invalid else None
        what = (
            "; ".join(f"{f.pointer or f.location}: {f.message}" for f in e.invalid[:3])
            if e.invalid
            else e.why
        )
        deviation = explained[0] if explained and all(explained) else None
        return self._finding(
            "fuzz.negative-data-rejection",
            f"invalid request accepted with {status} ({show_text(what, 300)})",
            request,
            status,
            expected="4xx",
            pointer=first.pointer if first else "",
            keyword=first.keyword if first else "status",
            explained=deviation,
        )

    def _explain_invalid(self, f: Finding, request: FuzzRequest, status: int) -> str | None:
        if f.deviation:
            return f.deviation
        analog = _negative_analog(f)
        if analog is None:
            return None
        return self.profile.explain(
            check=analog, where="response", operation=request.operation, status=status
        )

    def _rejected_valid(self, request: FuzzRequest, e: Expectation, status: int) -> Finding:
        analogs: tuple[str, ...] = ()
        if request.operation == REMIX_OP:
            multipart = (request.content_type or "").startswith(MULTIPART)
            analogs = ("positive.remix-multipart" if multipart else "positive.remix-json",)
        explained = self._dialect_deviation(request, status) if e.dialect_gap else None
        explained = explained or self.profile.explain(
            check="response.status", where="response", operation=request.operation, status=status
        )
        return self._finding(
            "fuzz.positive-data-acceptance",
            f"valid request rejected with {status}",
            request,
            status,
            expected="2xx",
            analogs=analogs,
            explained=explained,
        )

    def _dialect_deviation(self, request: FuzzRequest, status: int) -> str | None:
        """The deviation by which the vendor refuses a content type the contract allows."""
        multipart = (request.content_type or "").startswith(MULTIPART)
        analogs = ["positive.remix-multipart"] if multipart else ["positive.remix-json"]
        analogs.append("positive.remix-multipart")  # the profiles state JSON-only there
        for analog in analogs:
            deviation = self.profile.explain(check=analog, where="response", status=status)
            if deviation:
                return deviation
        return None

    # -- invariants ------------------------------------------------------------------------

    def _invariants(self, out: Judgement, body: dict[str, Any]) -> None:
        if body.get("object") != "video" and "status" not in body:
            return  # not a Video: the contract findings already say so
        out.applies.add("fuzz.invariants")
        request = out.request
        if request.method == "POST" and request.operation in (REMIX_OP, CREATE_OP):
            self._new_job(out, body)
        elif request.operation == RETRIEVE_OP and request.video_id is not None:
            self._retrieved(out, body, request.video_id)

    def _new_job(self, out: Judgement, body: dict[str, Any]) -> None:
        """A job a create or remix just started: new, naming its source, echoing the prompt."""
        request = out.request
        new_id = body.get("id")
        remix = request.operation == REMIX_OP
        fmt = self.profile.video_id
        source = request.video_id
        if (
            remix
            and source
            and isinstance(new_id, str)
            and fmt.native(new_id) == fmt.native(source)
        ):
            self._invariant(
                out, "invariant.new-id", "the remix reuses the source video id", "/id", new_id
            )
        if remix and "remixed_from_video_id" in body and body["remixed_from_video_id"] != source:
            named = body["remixed_from_video_id"]
            self._invariant(
                out,
                "invariant.remixed-from",
                f"remixed_from_video_id is {show(named, 80)}, expected {show(source, 80)}",
                "/remixed_from_video_id",
                named,
            )
        prompt = _prompt(out.sent_body)
        if "prompt" in body and prompt is not None and body["prompt"] != prompt:
            self._invariant(
                out,
                "invariant.prompt-echo",
                f"prompt is {show(body['prompt'], 80)}, not the prompt sent ({show(prompt, 80)})",
                "/prompt",
                show(body["prompt"]),
            )
        if isinstance(new_id, str) and new_id:
            self.state.jobs[new_id] = {"remixed_from": source if remix else None}

    def _retrieved(self, out: Judgement, body: dict[str, Any], vid: str) -> None:
        """A retrieved job: the one asked for, still naming its source, never going back."""
        new_id, status, progress = body.get("id"), body.get("status"), body.get("progress")
        remix_case = self.state.awaiting.pop(vid, None)
        if remix_case is not None and status in ("queued", "in_progress"):
            self._invariant(
                out,
                "negative.remix-not-completed",
                f"a remix of {show(vid, 80)} was accepted (case {remix_case}) while the video "
                f"was {status}: only completed videos can be remixed",
                "/status",
                status,
            )
        if isinstance(new_id, str) and new_id != vid:
            self._invariant(
                out,
                "lifecycle.same-job",
                f"retrieve of {show(vid, 80)} answered job {show(new_id, 80)}",
                "/id",
                new_id,
            )
        expected_source = (self.state.jobs.get(vid) or {}).get("remixed_from")
        named = body.get("remixed_from_video_id")
        if expected_source and "remixed_from_video_id" in body and named != expected_source:
            self._invariant(
                out,
                "invariant.remixed-from",
                f"remixed_from_video_id is {show(named, 80)}, expected {show(expected_source, 80)}",
                "/remixed_from_video_id",
                named,
            )
        before = self.state.last.get(vid)
        if before is not None and isinstance(status, str):
            old, new = _STATUS_RANK.get(before.get("status", "")), _STATUS_RANK.get(status)
            went_back = old is not None and new is not None and new < old
            switched = old == new == 2 and status != before.get("status")  # completed <-> failed
            if went_back or switched:
                self._invariant(
                    out,
                    "lifecycle.status-forward",
                    f"status went from {show(before.get('status'))} back to {show(status)}",
                    "/status",
                    status,
                )
            old_progress = before.get("progress")
            if _number(progress) and _number(old_progress) and progress < old_progress:
                self._invariant(
                    out,
                    "lifecycle.progress-monotonic",
                    f"progress fell from {old_progress} to {progress}",
                    "/progress",
                    progress,
                )
        if isinstance(status, str):
            kept = progress if _number(progress) else None
            self.state.last[vid] = {"status": status, "progress": kept}

    def _invariant(
        self, out: Judgement, analog: str, message: str, pointer: str, actual: Any
    ) -> None:
        out.findings.append(
            (
                "fuzz.invariants",
                self._finding(
                    "fuzz.invariants",
                    message,
                    out.request,
                    out.status,
                    expected=analog,
                    actual=actual,
                    location="body",
                    pointer=pointer,
                    keyword=analog,
                    analogs=(analog,),
                ),
            )
        )

    def _finding(
        self,
        check: str,
        message: str,
        request: FuzzRequest,
        status: int | None,
        *,
        expected: Any = None,
        actual: Any = None,
        location: str = "status",
        pointer: str = "",
        keyword: str | None = "status",
        analogs: tuple[str, ...] = (),
        explained: str | None = None,
    ) -> Finding:
        """A finding of the fuzz judgement; a profile deviation written for the catalogue check
        that tests the same thing (`analogs`) explains it too."""
        deviation = explained
        # The fuzz check's own id first: a profile may document a deviation for it directly.
        for analog in (check, *analogs):
            if deviation:
                break
            deviation = self.profile.explain(
                check=analog,
                where="response",
                operation=request.operation,
                status=status,
                keyword=keyword,
                pointer=pointer,
                actual=actual,
            )
        spec = _BY_ID.get(check)
        return Finding(
            check=check,
            verdict=Verdict.DEVIATION if deviation else Verdict.VIOLATION,
            severity=Severity.ERROR,
            message=message,
            where="response",
            location=location,
            pointer=pointer,
            operation=request.operation,
            keyword=keyword,
            expected=expected,
            actual=status if actual is None and location == "status" else actual,
            deviation=deviation,
            status=status,
            origin=spec.origin if spec else CONVENTION,
            origin_why=(spec.why or None) if spec else None,
        )


def _negative_analog(f: Finding) -> str | None:
    """The catalogue check that sends the same kind of invalid request, whose deviations apply."""
    if f.check == "request.content-type":
        return "negative.unsupported-content-type"
    if f.keyword == "json":
        return "negative.malformed-json"
    if f.keyword == "additionalProperties":
        return "negative.unknown-field"
    if f.pointer == "/prompt":
        return {
            "required": "negative.missing-prompt",
            "minLength": "negative.empty-prompt",
            "maxLength": "negative.prompt-too-long",
            "type": "negative.non-string-prompt",
        }.get(f.keyword or "")
    return None


def _decoded(request: Request) -> Request:
    """The request with its JSON or multipart body decoded once, for the validator and the judge.

    The validator takes an already-decoded body as is (body_raw=False); a body that does not
    decode stays raw, so the validator reports it in its own words.
    """
    if not request.body_raw or not request.body:
        return request
    ctype = media_type(request.headers)
    try:
        if ctype == MULTIPART:
            fields: Any = parse_multipart(request.headers.get("content-type", ""), request.body)
        elif ctype == "application/json":
            fields = decode_json(request.body)
        else:
            return request
    except ValueError:
        return request
    return replace(request, body=fields, body_raw=False)


def _undeclared(operation: Operation, request: Request) -> tuple[str, ...]:
    """Top-level body fields the operation's schema for this content type does not declare."""
    if request.body_raw or not isinstance(request.body, dict):
        return ()
    media = operation.request_content.get(media_type(request.headers) or "")
    props = media.schema.get("properties") if media is not None else None
    if not isinstance(props, Mapping):
        return ()
    return tuple(sorted(str(k) for k in request.body if k not in props))


def _prompt(body: Any) -> str | None:
    """The prompt a decoded request body carries, as the server should read it."""
    value = body.get("prompt") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- aggregation into results ----------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    finding: Finding
    cases: int = 0
    case_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tally:
    """Findings of a whole run, one bucket per fuzz check, deduplicated as they arrive."""

    strict: bool = False
    judged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECK_IDS, 0))
    entries: dict[str, dict[tuple[Any, ...], _Entry]] = field(
        default_factory=lambda: {c: {} for c in CHECK_IDS}
    )
    evidence: dict[str, list[Evidence]] = field(default_factory=lambda: {c: [] for c in CHECK_IDS})
    failing_cases: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECK_IDS, 0))

    def add(self, judgement: Judgement, sent: Sent) -> bool:
        """Count one judged case; True when it fails in a way no earlier case did (worth keeping)."""
        for check in judgement.applies:
            self.judged[check] += 1
        new = False
        counted: set[str] = set()
        case_id = judgement.request.case_id
        for check, f in judgement.findings:
            key = (f.check, f.operation, f.status, f.pointer, f.keyword, f.verdict)
            entry = self.entries[check].get(key)
            if entry is None:
                entry = self.entries[check][key] = _Entry(f)
                new = new or self.failing(f)
            entry.cases += 1
            if len(entry.case_ids) < 5:
                entry.case_ids.append(case_id)
            if check in counted or not self.failing(f):
                continue
            counted.add(check)
            self.failing_cases[check] += 1
            if len(self.evidence[check]) < EVIDENCE_PER_CHECK:
                ev = evidence(sent)
                ev.note = (
                    f"case {case_id} ({judgement.request.description}); "
                    f"expected: {judgement.expectation.why}"
                )
                self.evidence[check].append(ev)
        return new

    def failing(self, f: Finding) -> bool:
        return f.severity is not Severity.INFO and (
            f.verdict is Verdict.VIOLATION or (self.strict and f.verdict is Verdict.DEVIATION)
        )

    def results(
        self,
        *,
        skipped: Mapping[str, str],
        duration_ms: float,
        billable: bool,
        broken_off: str | None = None,
    ) -> list[CheckResult]:
        """One CheckResult per fuzz check. `broken_off` says why the target stopped answering:
        checks that judged nothing end in error (the tool could not finish), never in a pass."""
        out = []
        for spec in FUZZ_CHECKS:
            entries = sorted(
                self.entries[spec.id].values(),
                key=lambda e: (-e.finding.verdict.rank, -e.cases, e.finding.pointer),
            )
            findings = [
                replace(
                    e.finding, extra={**e.finding.extra, "cases": e.cases, "case_ids": e.case_ids}
                )
                for e in entries
            ]
            judged = self.judged[spec.id]
            verdict = worst_verdict(findings)
            if spec.id in skipped and not judged:
                outcome, reason = Outcome.SKIPPED, skipped[spec.id]
            elif broken_off and not judged:
                outcome, reason = Outcome.ERROR, broken_off
            elif not judged:
                outcome, reason = Outcome.SKIPPED, "no case of this kind was sent within the budget"
            else:
                outcome = {
                    Verdict.PASS: Outcome.PASS,
                    Verdict.DEVIATION: Outcome.DEVIATION,
                    Verdict.VIOLATION: Outcome.VIOLATION,
                }[verdict]
                failing = self.failing_cases[spec.id]
                reason = f"{judged} case(s) judged, {failing} failing, {len(findings)} distinct finding(s)"
                if broken_off:
                    reason += f"; then {broken_off}"
            out.append(
                CheckResult(
                    check=spec.id,
                    family=FAMILY,
                    title=spec.title,
                    outcome=outcome,
                    reason=reason,
                    findings=findings,
                    evidence=list(self.evidence[spec.id]),
                    deviations=sorted({f.deviation for f in findings if f.deviation}),
                    billable=billable,
                    duration_ms=duration_ms,
                    origin=spec.origin,
                    origin_why=spec.why or None,
                )
            )
        return out


# -- case files --------------------------------------------------------------------------------


@dataclass(slots=True)
class CaseRecord:
    """A failing case as it is kept on disk: redacted, replayable, with its judgement."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])


def case_record(
    judgement: Judgement,
    sent: Sent,
    *,
    target: str,
    vendor: str,
    base_url: str,
    api_key_env: str,
    seed: int,
    index: int,
) -> CaseRecord:
    request = judgement.request
    ev = evidence(sent)
    return CaseRecord(
        {
            "schema": CASE_SCHEMA,
            "version": CASE_VERSION,
            "id": request.case_id,
            "target": target,
            "vendor": vendor,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "seed": seed,
            "index": index,
            "request": {**request.to_dict(), "headers": sent.exchange.request.headers},
            "expected": {
                "kind": judgement.expectation.kind,
                "why": judgement.expectation.why,
                "cause": judgement.expectation.cause,
                "statuses": list(judgement.expectation.statuses),
            },
            "context": judgement.context,
            "response": ev.response,
            "verdict": judgement.verdict.value,
            "findings": [{"fuzz_check": c, **f.to_dict()} for c, f in judgement.findings],
            "curl": sent.curl,
        }
    )


def write_cases(
    records: Iterable[CaseRecord],
    directory: Path,
    secrets: Iterable[str],
    emulator: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write each case as <directory>/<id>.json, every secret scrubbed; returns the paths.

    `emulator` (faults, job seconds) marks cases found on a bundled emulator, so
    `replay --emulate` can start the same one again.
    """
    needles = [s for s in secrets if s]
    written = []
    for record in records:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{record.id}.json"
        data = {**record.data, "emulator": dict(emulator)} if emulator else record.data
        written.append(write_json(scrub(data, needles), path))
    return written


def load_case(path: Path) -> dict[str, Any]:
    """A case file, checked as the untrusted input it is (see casefile.py)."""
    from remixcheck.fuzzing import casefile

    return casefile.load(path)


# -- merging into an existing results.json ----------------------------------------------------


def merge_results(existing: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """New fuzz results laid over an existing results.json of the same contract.

    A target of the same name keeps its catalogue checks and gets this run's fuzz checks in
    place of any earlier ones; its request counts are the catalogue's plus this run's. Other
    targets are kept, new ones appended. A results file of another contract is replaced.
    """
    if existing is None or existing.get("spec") != new.get("spec"):
        return dict(new)
    merged = dict(existing)
    merged["finished_at"] = new.get("finished_at", merged.get("finished_at"))
    merged["strict"] = new.get("strict", merged.get("strict"))
    merged["interrupted"] = bool(new.get("interrupted"))
    targets = [dict(t) for t in existing.get("targets", [])]
    by_name = {t["name"]: i for i, t in enumerate(targets)}
    for t in new.get("targets", []):
        i = by_name.get(t["name"])
        if i is None:
            targets.append(dict(t))
            continue
        old = targets[i]
        earlier = old.get("fuzz") or {}
        kept = [c for c in old.get("checks", []) if c.get("family") != FAMILY]
        old["checks"] = kept + list(t["checks"])
        for key in ("requests_sent", "billable_sent"):
            old[key] = int(old.get(key, 0)) - int(earlier.get(key, 0)) + int(t["fuzz"][key])
        old["fuzz"] = t["fuzz"]
        counts = dict.fromkeys(o.value for o in Outcome)
        for name in counts:
            counts[name] = sum(1 for c in old["checks"] if c.get("outcome") == name)
        old["counts"] = counts
        targets[i] = old
    merged["targets"] = targets
    merged["billable_sent"] = sum(int(t.get("billable_sent", 0)) for t in targets)
    return merged


# -- sending and replay ------------------------------------------------------------------------


def send(transport: Transport, request: FuzzRequest, profile: Profile) -> Sent:
    """Send a fuzz request through the target's transport (key, timeouts, caps, redaction)."""
    return transport.send(
        request.method,
        request.path,
        body=request.body,
        content_type=request.content_type,
        auth=request.auth,
        invalid_key=(profile.key_prefix or "sk-") + "remixcheck-invalid-0000",
    )


@dataclass(slots=True)
class Replay:
    case_id: str
    judgement: Judgement
    sent: Sent
    failing: bool
    base_url: str


def replay(
    data: Mapping[str, Any], target: Target, settings: TransportSettings, *, strict: bool = False
) -> Replay:
    """Send one saved (and checked) case to `target` again and judge the answer."""
    from remixcheck.errors import RemixcheckError, UsageError
    from remixcheck.fuzzing.casefile import request_url

    request = FuzzRequest.from_dict(data["request"])
    request_url(target.base_url, request.path)
    validator = Validator.for_vendor(target.vendor)
    judge = Judge(validator, Observed.from_context(request.video_id, data.get("context") or {}))
    if exposed(request, judge.operation(request)) and target.max_billable == 0:
        raise UsageError(
            f"case {request.case_id} could start a paid job on {target.base_url}; "
            "pass --max-billable 1 to replay it there"
        )
    with Transport(target.base_url, target.api_key, target.api_key_env, settings) as transport:
        transport.request_limit = 1
        try:
            sent = send(transport, request, validator.profile)
        except TransportError as exc:
            raise RemixcheckError(f"could not replay case {request.case_id}: {exc}") from None
    judgement = judge.judge(request, sent)
    failing = any(
        f.severity is not Severity.INFO
        and (f.verdict is Verdict.VIOLATION or (strict and f.verdict is Verdict.DEVIATION))
        for _, f in judgement.findings
    )
    return Replay(request.case_id, judgement, sent, failing, target.base_url)

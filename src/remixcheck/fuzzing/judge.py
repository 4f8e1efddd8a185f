"""The judgement of one fuzz answer (`Judge`): `Validator.check_response` plus the status the
request calls for and the job invariants, explained by the vendor profile like every finding.

A case is judged by the validation core (every response against the contract, under the
vendor profile) plus the expectation the request itself calls for. Whether a request is
invalid is decided from the bytes that were sent, by the same validator, so a "negative" case
that serialises to valid data (a number in a multipart field is text) is judged as the valid
request it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.quoting import show, show_text
from remixcheck.contract.spec import Operation
from remixcheck.fuzzing.cases import JOB, REMIX_OP, RETRIEVE_OP, SOURCE, FuzzRequest, exposed
from remixcheck.fuzzing.envelope import undeclared_error_findings
from remixcheck.fuzzing.expect import NO_BODY, Expectation, expect
from remixcheck.fuzzing.invariants import JobInvariants, Judgement, Observed
from remixcheck.traffic.exchange import Request, decode_json, media_type
from remixcheck.validation.requests import MULTIPART, parse_multipart
from remixcheck.validation.routing import Route
from remixcheck.validation.validator import Validator


class Judge(JobInvariants):
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
        expectation = self._expectation(request, op, decoded)
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
            self._accepted(out, op, sent)
        return out

    def _expectation(
        self, request: FuzzRequest, op: Operation | None, decoded: Request
    ) -> Expectation:
        """What the request calls for, judged from the bytes that were sent."""
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
        return expectation

    def _accepted(self, out: Judgement, op: Operation | None, sent: Sent) -> None:
        """A 2xx: the job invariants of its Video, and the retrieve a remix of a job calls for."""
        request = out.request
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
                            f"{e.why}: expected {' or '.join(map(str, e.statuses))}, got {status}",
                            request,
                            status,
                            expected=list(e.statuses),
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

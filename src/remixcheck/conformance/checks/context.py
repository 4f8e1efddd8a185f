"""What a check sees while it runs: the target, its profile, the budget, and shared state."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from remixcheck.conformance import stopping
from remixcheck.conformance.checks import BILLABLE, FREE, Check, RequestSpec
from remixcheck.conformance.transport import Interrupted, Sent, Transport
from remixcheck.contract.findings import Finding, Severity, Verdict, worst_verdict
from remixcheck.contract.profiles import Profile
from remixcheck.contract.quoting import show
from remixcheck.results.model import CheckResult, Evidence, Outcome
from remixcheck.validation.validator import Validator

PROMPT = "remixcheck conformance run: keep the camera move, make it a snowy dawn"
UNKNOWN_NATIVE_ID = "video_remixcheck_unknown_000000"
# On a remix job these always hold a value, so "omitted because empty" cannot explain their absence.
MUST_BE_SET = frozenset({"id", "object", "status", "remixed_from_video_id", "prompt", "created_at"})
BODY_EXCERPT = 4000
_MILLISECONDS = re.compile(r"[0-9]{1,9}")


class SkipCheck(Exception):
    """The check cannot run here (budget, missing prerequisite); the message says why."""


class ErrorCheck(Exception):
    """The tool could not complete the check for a reason other than transport (e.g. a deadline)."""


class KeyRefused(ErrorCheck):
    """The server refused the run's key: what needs it cannot be judged."""


class PreconditionCheck(Exception):
    """The server's state does not let the check judge (no completed source video): not a verdict."""


class Budget:
    """Requests that may start a paid job. None means unlimited (loopback targets).

    `try_spend` checks and counts in one step, so a subclass can share one budget between
    processes (the pytest plugin under xdist) without a window between the two.
    """

    def __init__(self, max_billable: int | None, sent: int = 0) -> None:
        self.max_billable = max_billable
        self._sent = sent

    @property
    def sent(self) -> int:
        return self._sent

    def try_spend(self, billing: str) -> bool:
        if billing == FREE:
            return True
        if self.max_billable is not None and self._sent >= self.max_billable:
            return False
        self._sent += 1
        return True


@dataclass(slots=True)
class Settings:
    poll_timeout: float = 300.0
    poll_interval: float = 1.0  # used when the server sends no openai-poll-after-ms
    max_poll_interval: float = 10.0
    create_source: bool = True


@dataclass(slots=True)
class Context:
    profile: Profile
    validator: Validator
    transport: Transport
    budget: Budget
    settings: Settings
    source_id: str | None = None
    source_note: str = ""
    # Why there is no completed source video, once source.retrieve found out (with the fix),
    # and the id of the one that is not completed, for requests that do not need it completed.
    source_problem: str = ""
    pending_source_id: str | None = None
    prompt: str = PROMPT
    sent: dict[str, Sent] = field(
        default_factory=dict
    )  # by role: "remix-json", "remix-multipart", ...
    polls: list[Sent] = field(default_factory=list)
    poll_outcome: str = ""  # "completed" | "failed" | "deadline" | ""
    observed_videos: list[dict[str, Any]] = field(default_factory=list)
    # Every error answer of the run, with its operation: the error-content checks read them all.
    error_responses: list[tuple[str, Sent]] = field(default_factory=list)
    key_refused: str | None = None  # the one diagnosis, once a 401 answered the key
    key_accepted: bool = False  # some request with the key was answered other than 401
    bad_poll_after: list[str] = field(default_factory=list)  # unusable poll-after values seen

    # -- the key -----------------------------------------------------------

    def check_key(self, check: Check) -> None:
        """A check whose requests need the key does not run once the server refused it."""
        if self.key_refused and any(r.auth == "valid" for r in check.requests):
            raise KeyRefused(f"not run: {self.key_refused}")

    def _judge_key(self, spec: RequestSpec, sent: Sent) -> None:
        if spec.auth != "valid" or self.key_accepted:
            return
        if sent.status != 401:
            self.key_accepted = True
            return
        # The first answer to the key is 401: the key is wrong, not every check that uses it.
        body = sent.json()
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        said = f" {show(message, 120)}" if message is not None else ""
        self.key_refused = (
            f"the server refused the key: 401{said} (key from ${self.transport.key_env})"
        )
        raise KeyRefused(self.key_refused)

    # -- ids ---------------------------------------------------------------

    @property
    def unknown_id(self) -> str:
        return self.profile.video_id.make(UNKNOWN_NATIVE_ID)

    def remix_id(self) -> str | None:
        body = self.json_of("remix-json")
        value = body.get("id") if isinstance(body, dict) else None
        return value if isinstance(value, str) and value else None

    def json_of(self, role: str) -> Any:
        sent = self.sent.get(role)
        return sent.json() if sent is not None else None

    # -- sending -----------------------------------------------------------

    def path_for(self, spec: RequestSpec) -> str:
        base = self.profile.compat_base_paths[0] if spec.compat else self.profile.base_paths[0]
        values = {
            "source": self.source_id or (self.pending_source_id if spec.any_source else None) or "",
            "remix": self.remix_id() or "",
            "unknown": self.unknown_id,
            "bare": self.profile.video_id.native(self.source_id or self.profile.video_id.example),
        }
        path = spec.path
        for name, value in values.items():
            if "{" + name + "}" in path:
                if not value and name in ("source", "bare") and self.source_problem:
                    raise SkipCheck(f"needs a completed source video: {self.source_problem}")
                if not value:
                    raise SkipCheck(f"needs a {name} video id, which this run does not have")
                path = path.replace("{" + name + "}", _segment(value))
        return base + path

    def send(self, spec: RequestSpec) -> Sent:
        path = self.path_for(spec)  # may skip: do it before the budget is spent
        if not self.budget.try_spend(spec.billing):
            what = (
                "starts a paid remix job"
                if spec.billing == BILLABLE
                else "could start a paid job if the vendor wrongly accepts it"
            )
            raise SkipCheck(
                f"billable budget used up ({self.budget.sent} of --max-billable {self.budget.max_billable}): "
                f"this request {what}; raise --max-billable to run it"
            )
        invalid_key = (self.profile.key_prefix or "sk-") + "remixcheck-invalid-0000"
        body = spec.body
        sent = self.transport.send(
            spec.method,
            path,
            body=body.content if body else None,
            content_type=body.content_type if body else None,
            auth=spec.auth,
            invalid_key=invalid_key,
            shell_body=body.shell if body else None,
        )
        self._judge_key(spec, sent)
        data = sent.json()
        # Every 2xx of these operations is a Video, even one that breaks the contract (no `object`).
        if isinstance(data, dict) and 200 <= sent.status < 300:
            self.observed_videos.append(
                {"operation": spec.operation, "status": sent.status, "body": data}
            )
        elif sent.status >= 400:
            self.error_responses.append((spec.operation, sent))
        return sent

    def poll_wait(self, sent: Sent) -> float:
        """The wait the server asks for (openai-poll-after-ms), parsed strictly and clamped."""
        header = self.profile.poll_after_header
        value = sent.headers.get(header.lower()) if header else None
        wait = self.settings.poll_interval
        if value is not None:
            if _MILLISECONDS.fullmatch(value.strip()):
                wait = int(value.strip()) / 1000.0
            elif len(self.bad_poll_after) < 5:
                self.bad_poll_after.append(value)  # lifecycle.polls-valid reports it
        return min(max(wait, 0.0), self.settings.max_poll_interval)

    def poll(
        self, spec: RequestSpec, until: tuple[str, ...], *, deadline: float | None = None
    ) -> list[Sent]:
        """Retrieve repeatedly until status is in `until` or the poll deadline passes."""
        polls: list[Sent] = []
        end = time.monotonic() + (deadline if deadline is not None else self.settings.poll_timeout)
        while True:
            sent = self.send(spec)
            polls.append(sent)
            body = sent.json()
            status = body.get("status") if isinstance(body, dict) else None
            if status in until or not 200 <= sent.status < 300:
                return polls
            wait = self.poll_wait(sent)
            if time.monotonic() + wait > min(end, time.monotonic() + self.transport.time_left()):
                return polls
            if not stopping.sleep(wait):
                raise Interrupted(stopping.reason())

    # -- judging -----------------------------------------------------------

    def response_findings(self, sent: Sent, operation_id: str) -> list[Finding]:
        resp = sent.exchange.response
        assert resp is not None
        op = self.validator.contract.operation(operation_id)
        return self.validator.check_response(
            op, resp.status, resp.headers, resp.body, raw=resp.body_raw, truncated=resp.truncated
        )

    def finding(
        self,
        check: Check,
        message: str,
        *,
        expected: Any = None,
        actual: Any = None,
        location: str = "body",
        pointer: str = "",
        operation: str | None = None,
        status: int | None = None,
        keyword: str | None = None,
        severity: Severity | None = None,
        origin: str | None = None,
        why: str | None = None,
    ) -> Finding:
        """A semantic finding of a check, explained by the profile where it documents it.

        Its origin is the check's unless the caller names the rule's own.
        """
        deviation = self.profile.explain(
            check=check.id,
            where="response",
            operation=operation,
            status=status,
            keyword=keyword,
            pointer=pointer,
            actual=actual,
        )
        return Finding(
            check=check.id,
            verdict=Verdict.DEVIATION if deviation else Verdict.VIOLATION,
            severity=severity or check.severity,
            message=message,
            where="response",
            location=location,
            pointer=pointer,
            operation=operation,
            keyword=keyword,
            expected=expected,
            actual=actual,
            deviation=deviation,
            status=status,
            origin=origin or check.origin,
            origin_why=why if origin else (why or check.why or None),
        )

    def absent_field(
        self,
        check: Check,
        field: str,
        message: str,
        *,
        operation: str,
        status: int | None,
        expected: Any,
        must_be_set: bool,
    ) -> Finding:
        """A check's finding about a field the body leaves out.

        Judged by the same rule as the schema's `required`: a documented omission is a
        deviation, unless the field must hold a value here (`must_be_set`), which an
        "omits empty fields" dialect cannot explain.
        """
        finding = self.finding(
            check,
            message,
            expected=expected,
            actual="absent",
            pointer="/" + field,
            operation=operation,
            status=status,
        )
        deviation = self.profile.explain(
            check="response.body",
            where="response",
            operation=operation,
            status=status,
            keyword="required",
            pointer="/" + field,
            must_be_set=must_be_set,
        )
        if deviation is None or finding.deviation is not None:
            return finding
        return replace(finding, verdict=Verdict.DEVIATION, deviation=deviation)

    def result(
        self,
        check: Check,
        findings: list[Finding],
        sent: list[Sent] | None = None,
        reason: str = "",
    ) -> CheckResult:
        verdict = worst_verdict(findings)
        outcome = {
            Verdict.PASS: Outcome.PASS,
            Verdict.DEVIATION: Outcome.DEVIATION,
            Verdict.VIOLATION: Outcome.VIOLATION,
        }[verdict]
        counted = [f for f in findings if f.severity is not Severity.INFO or f.deviation]
        return CheckResult(
            check=check.id,
            family=check.family,
            title=check.title,
            outcome=outcome,
            reason=reason,
            findings=counted,
            evidence=[evidence(s) for s in (sent or [])],
            deviations=sorted({f.deviation for f in counted if f.deviation}),
            billable=check.billing != FREE,
            origin=check.origin,
            origin_why=check.why or None,
        )

    def info(
        self, check: Check, fact: str, sent: list[Sent], findings: list[Finding]
    ) -> CheckResult:
        """An `info` outcome: a dialect fact where no source says what is right; never fails."""
        result = self.result(check, findings, sent, reason=fact)
        result.outcome = Outcome.INFO
        result.fact = fact
        return result


def _segment(value: str) -> str:
    from urllib.parse import quote

    # Ids go into the path escaped, except the vendor's own separators (Bifrost's colon).
    return quote(value, safe=":@-._~")


def evidence(sent: Sent) -> Evidence:
    req = sent.exchange.request
    resp = sent.exchange.response
    request = {
        "method": req.method,
        "url": req.url,
        "headers": req.headers,
        "body": _excerpt(req.body, 2000),
    }
    response = None
    if resp is not None:
        response = {
            "status": resp.status,
            "headers": resp.headers,
            "body": _excerpt(resp.body, BODY_EXCERPT),
            "truncated": resp.truncated,
            "elapsed_ms": round(resp.elapsed_ms, 1) if resp.elapsed_ms is not None else None,
        }
    return Evidence(request=request, response=response, curl=sent.curl, note="; ".join(sent.notes))


def _excerpt(body: Any, limit: int) -> str | None:
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        text = bytes(body[: limit * 4]).decode("utf-8", "replace")
        total = len(body)
    else:
        text = str(body)
        total = len(text)
    if len(text) > limit:
        return text[:limit] + f"... [{total} bytes in all]"
    return text

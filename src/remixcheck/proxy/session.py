"""Judging what went through the proxy: each exchange, the jobs across them, and the totals.

Runs in the proxy's event loop after the client has its answer. Memory stays flat however
long the proxy runs: per check only the first findings and evidence are kept, with counts.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from remixcheck.conformance.bodies import BodyDecoder
from remixcheck.conformance.checks.context import evidence
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity, Verdict, best_first, worst_verdict
from remixcheck.contract.origins import PUBLISHED
from remixcheck.proxy import jobs
from remixcheck.proxy.forward import Captured
from remixcheck.proxy.record import Recorder
from remixcheck.results.model import CheckResult, Evidence, Outcome, RunResult, TargetResult, scrub
from remixcheck.traffic import jsonsafe, redact
from remixcheck.traffic.exchange import Exchange, Request, Response, key_kind
from remixcheck.validation.validator import Validator

REQUESTS, RESPONSES, UPSTREAM = "proxy.requests", "proxy.responses", "proxy.upstream"
MAX_FINDINGS = 100  # per check; the count goes on
MAX_EVIDENCE = 5  # exchanges kept as evidence per check
MAX_VIDEOS = 200  # Video bodies kept for the report's field matrix
MAX_SECRETS = 100
# Titles of the proxy's own checks; the others are the catalogue's, judged on observed traffic.
_OWN = {
    REQUESTS: "Client requests follow the contract",  # a finding here is the client's
    RESPONSES: "Answers follow the contract",
    UPSTREAM: "The upstream answered",  # else the proxy answered 502/504: a tool error
}
# The contract's own checks hold what OpenAI publishes (each finding names its own origin);
# whether the upstream answered at all is no rule of the contract.
_OWN_ORIGIN = {REQUESTS: PUBLISHED, RESPONSES: PUBLISHED}
CHECKS = (REQUESTS, RESPONSES, *jobs.CHECKS, UPSTREAM)
_VIDEO_OPS = (jobs.REMIX_OP, jobs.CREATE_OP, jobs.RETRIEVE_OP)


@dataclass(frozen=True, slots=True)
class Line:
    """What to print for one exchange that had findings or failed (already scrubbed)."""

    verdict: str  # "violation" | "deviation" | "error"
    text: str


@dataclass(slots=True)
class _Tally:
    applied: int = 0
    count: int = 0  # findings, including those not kept
    findings: list[Finding] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    worst: Verdict = Verdict.PASS
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


class Session:
    """Everything the proxy learned, from the first exchange to the last."""

    def __init__(
        self,
        validator: Validator,
        *,
        name: str,
        upstream: str,
        strict: bool = False,
        recorder: Recorder | None = None,
        max_body_bytes: int = 1_048_576,
    ) -> None:
        from remixcheck.conformance import runner

        self.validator = validator
        self.profile = validator.profile
        self.tracker = jobs.JobTracker(validator.profile)
        self.recorder = recorder
        self.max_body_bytes = max_body_bytes
        self.result = runner.new_result(strict)
        self.target = TargetResult(
            name=name,
            vendor=validator.profile.id,
            base_url=upstream,
            api_key_env=validator.profile.key_env,
            emulated=False,
        )
        self.tallies = {check: _Tally() for check in CHECKS}
        self.secrets: set[str] = set()
        self.exchanges = 0
        self.recorded = 0

    # -- one exchange -----------------------------------------------------------------------

    def judge(self, captured: Captured) -> Line | None:
        """Judge one exchange and add it up; the line to print when it had findings or failed."""
        self.exchanges += 1
        if captured.error is not None:
            self._learn_secrets(_secrets_in(captured.request_headers))
            return self.failed(captured)
        self.tallies[UPSTREAM].applied += 1
        # The answer went back as it came; judging reads it with its content-encoding undone,
        # every layer capped like a run's (a small compressed body can inflate enormously).
        decoder = BodyDecoder(
            _header(captured.response_headers, "content-encoding"), self.max_body_bytes
        )
        decoder.feed(captured.response_body)
        done = decoder.done()
        if decoder.unknown or decoder.error:
            captured.error = f"answer forwarded, but not judged: {'; '.join(done.notes)}"
            return self.failed(captured)
        body, cut = done.body, done.truncated
        request, response, secrets = _judged_parts(captured, body, cut)
        self._learn_secrets(secrets)
        route = captured.route
        assert route is not None
        op = route.operation
        findings: list[tuple[str, Finding]] = []
        if not captured.request_cut:
            self.tallies[REQUESTS].applied += 1
            findings += [(REQUESTS, f) for f in self.validator.check_request(request, route)]
        self.tallies[RESPONSES].applied += 1
        r = response
        # Decoded once, here: a clean body goes to the validator decoded, anything else raw,
        # so the validator reports each problem as it would have.
        parsed = None if cut else jsonsafe.loads(body)
        if parsed is not None and parsed.clean:
            checked = self.validator.check_response(
                op, r.status, r.headers, parsed.value, raw=False
            )
        else:
            checked = self.validator.check_response(
                op, r.status, r.headers, r.body, truncated=r.truncated
            )
        findings += [(RESPONSES, f) for f in checked]
        data = parsed.value if parsed is not None and 200 <= r.status < 300 else None
        seen = self.tracker.observe(op.operation_id, route.video_id, r.status, data)
        for check in seen.applied:
            self.tallies[check].applied += 1
        findings += [(f.check, f) for f in seen.findings]
        if isinstance(data, dict) and op.operation_id in _VIDEO_OPS:
            self.target.billable_sent += op.operation_id != jobs.RETRIEVE_OP
            if len(self.target.observed_videos) < MAX_VIDEOS:
                self.target.observed_videos.append(
                    {"operation": op.operation_id, "status": r.status, "body": data}
                )
        if self.recorder is not None and not captured.request_cut:
            self.recorder.write(captured, body, cut, self.secrets)
            self.recorded += 1
        return self._add(captured, body, cut, findings)

    def _add(
        self, captured: Captured, body: bytes, cut: bool, findings: list[tuple[str, Finding]]
    ) -> Line | None:
        counted = [(c, f) for c, f in findings if f.severity is not Severity.INFO or f.deviation]
        if not counted:
            return None
        exchange = _evidence_exchange(captured, body, cut)
        sent: Sent | None = None
        for check in dict.fromkeys(c for c, _ in counted):
            tally = self.tallies[check]
            mine = [f for c, f in counted if c == check]
            tally.count += len(mine)
            tally.worst = max(tally.worst, worst_verdict(mine), key=lambda v: v.rank)
            tally.findings += mine[: max(0, MAX_FINDINGS - len(tally.findings))]
            if len(tally.evidence) < MAX_EVIDENCE:
                sent = sent or Sent(exchange, curl(exchange, self.profile.key_env))
                tally.evidence.append(evidence(sent))
        ordered = best_first([f for _, f in counted])
        first = ordered[0]
        verdict = worst_verdict(ordered)
        where = first.pointer or first.location
        others = ", ".join(dict.fromkeys(f.check for f in ordered[1:]))
        more = f" (+{len(ordered) - 1} more: {others})" if len(ordered) > 1 else ""
        dev = f" [documented: {first.deviation}]" if first.deviation else ""
        response = exchange.response
        status = response.status if response is not None else "-"
        text = (
            f"{verdict.value} {exchange.request.method} {_clip(exchange.request.path)} -> {status}: "
            f"{where}: {first.message} [{first.check}]{dev}{more}"
        )
        return Line(verdict.value, self.scrub(text))

    def failed(self, captured: Captured) -> Line:
        """Count an exchange the upstream gave no (judgeable) answer to: a tool error."""
        tally = self.tallies[UPSTREAM]
        tally.applied += 1
        tally.error_count += 1
        path = captured.url[len(self.target.base_url.rstrip("/")) :] or "/"
        answered = (
            f"the proxy answered {captured.proxy_status}" if captured.proxy_status else "forwarded"
        )
        text = f"{captured.method} {_clip(path)}: {captured.error} ({answered})"
        if len(tally.errors) < MAX_FINDINGS:
            tally.errors.append(self.scrub(text))
        return Line("error", self.scrub(f"error {text}"))

    def _learn_secrets(self, secrets: list[str]) -> None:
        """Remember each key a client sent, so nothing written or printed can carry it."""
        for value in secrets:
            if len(value) >= 4 and value not in self.secrets and len(self.secrets) < MAX_SECRETS:
                self.secrets.add(value)
                redact.register(value)  # every output path of this process redacts it from now on

    # -- totals -----------------------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        return scrub(value, self.secrets)

    def failing(self) -> bool:
        return self.run_result().failing()

    def counts(self) -> dict[str, int]:
        return {
            "exchanges": self.exchanges,
            "judged": self.tallies[RESPONSES].applied,
            "errors": self.tallies[UPSTREAM].error_count,
            "recorded": self.recorded,
        }

    def run_result(self) -> RunResult:
        """The results so far, in the form every writer of results.json and reports takes."""
        from remixcheck.conformance import runner
        from remixcheck.conformance.checks import catalogue

        known = {c.id: c for c in catalogue()}
        self.target.checks = [self._check(cid, known.get(cid)) for cid in CHECKS]
        self.target.requests_sent = self.exchanges
        self.result.targets = [self.target]
        self.result.finished_at = runner.now()
        return self.result

    def public_dict(self) -> dict[str, Any]:
        """The results as they may be written anywhere: every key a client sent scrubbed."""
        data = self.scrub(self.run_result().to_dict())
        data["targets"][0]["proxy"] = self.counts()
        return data  # type: ignore[no-any-return]

    def _check(self, cid: str, known: Any) -> CheckResult:
        tally = self.tallies[cid]
        if cid == UPSTREAM:
            outcome = Outcome.ERROR if tally.error_count else Outcome.PASS
            reason = (
                f"{tally.error_count} of {self.exchanges} exchange(s) without a judged answer: "
                + "; ".join(tally.errors[:3])
                if tally.error_count
                else f"{tally.applied} exchange(s) answered"
            )
        elif tally.applied == 0:
            outcome = Outcome.SKIPPED
            reason = "no exchange through the proxy exercised it"
        else:
            outcome = Outcome(tally.worst.value)
            reason = f"{tally.applied} exchange(s) judged, {tally.count} finding(s)"
            if tally.count > len(tally.findings):
                reason += f" (the first {len(tally.findings)} kept)"
        return CheckResult(
            check=cid,
            family=known.family if known else "proxy",
            title=known.title if known else _OWN[cid],
            outcome=outcome,
            reason=reason,
            findings=list(tally.findings),
            evidence=list(tally.evidence),
            deviations=sorted({f.deviation for f in tally.findings if f.deviation}),
            origin=known.origin if known else _OWN_ORIGIN.get(cid),
            origin_why=(known.why or None) if known else None,
        )


_KEY_HEADERS = frozenset({"api-key", "x-api-key"})


def _secrets_in(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The keys a request carries: the token of Authorization, api-key and x-api-key values."""
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization":
            out.append(value.strip().partition(" ")[2].strip() or value.strip())
        elif lower in _KEY_HEADERS:
            out.append(value)
    return out


def _judged_parts(
    captured: Captured, body: bytes, cut: bool
) -> tuple[Request, Response, list[str]]:
    """The request and answer as the validator reads them, and the keys the request carries,
    in one pass over the headers.

    Only the headers the validator reads are kept (content type, Retry-After) and the key
    only as its scheme and public kind, so nothing secret is held; the full, redacted
    Exchange is built only for an exchange that has findings (`_evidence_exchange`).
    """
    ctype = None
    scheme = kind = None
    secrets = []
    for name, value in captured.request_headers:
        lower = name.lower()
        if lower == "content-type":
            ctype = value
        elif lower == "authorization":
            scheme, _, token = value.strip().partition(" ")
            kind = key_kind(token.strip())
            secrets.append(token.strip() or value.strip())
        elif lower in _KEY_HEADERS:
            secrets.append(value)
    request = Request(
        captured.method,
        captured.url,
        {"content-type": ctype} if ctype is not None else {},
        captured.request_body,
        True,
        scheme,
        kind,
    )
    wanted: dict[str, str] = {}
    for name, value in captured.response_headers:
        lower = name.lower()
        if lower in ("content-type", "retry-after") and lower not in wanted:
            wanted[lower] = value
    response = Response(captured.status or 0, wanted, body, True, cut, captured.elapsed_ms)
    return request, response, secrets


def _evidence_exchange(captured: Captured, body: bytes, cut: bool) -> Exchange:
    exchange = Exchange.build(
        method=captured.method,
        url=captured.url,
        request_headers=captured.request_headers,
        request_body=captured.request_body,
        request_body_raw=True,
        status=captured.status,
        response_headers=captured.response_headers,
        response_body=body,
        truncated=cut,
        source="proxy",
    )
    if exchange.response is not None:
        exchange.response.elapsed_ms = captured.elapsed_ms
    return exchange


def curl(exchange: Exchange, key_env: str) -> str:
    """A curl line that repeats the request, with the key as $ENV_VAR (never its value)."""
    req = exchange.request
    parts = ["curl", "-sS", "--path-as-is", "-X", req.method, shlex.quote(req.url)]
    if req.auth_scheme is not None:
        parts += ["-H", f'"Authorization: {req.auth_scheme} ${key_env}"']
    ctype = req.headers.get("content-type")
    if ctype:
        parts += ["-H", shlex.quote(f"Content-Type: {ctype}")]
    if isinstance(req.body, (bytes, bytearray)) and req.body:
        text = bytes(req.body[:4000]).decode("utf-8", "replace")
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

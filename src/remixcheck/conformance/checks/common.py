"""Shared judging for the families: expected status plus the contract on the response."""

from __future__ import annotations

from collections.abc import Callable

from remixcheck.conformance.checks import Check
from remixcheck.conformance.checks.context import Context, SkipCheck
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding
from remixcheck.results.model import CheckResult


def expect_status(
    ctx: Context, check: Check, sent: Sent, expected: tuple[int, ...], operation: str
) -> list[Finding]:
    """The response's contract findings plus one finding when the status is not an expected one."""
    findings = ctx.response_findings(sent, operation)
    if sent.status == 429:
        raise SkipCheck(
            "rate limited (429) beyond the Retry-After budget; retry later or lower --rate"
        )
    if sent.status not in expected:
        want = " or ".join(map(str, expected))
        findings.append(
            ctx.finding(
                check,
                f"expected status {want}, got {sent.status}",
                expected=list(expected),
                actual=sent.status,
                location="status",
                operation=operation,
                status=sent.status,
                keyword="status",
            )
        )
    return findings


def single_request(expected: tuple[int, ...]) -> Callable[[Context, Check], CheckResult]:
    """A run function for checks that send their one request and expect one of `expected`."""

    def run(ctx: Context, check: Check) -> CheckResult:
        spec = check.requests[0]
        sent = ctx.send(spec)
        want = expected
        if spec.any_source and ctx.source_id is None and 400 in expected:
            # The source is not completed: refusing that first (400 or 409) is as right.
            want = (*expected, 409)
        return ctx.result(check, expect_status(ctx, check, sent, want, spec.operation), [sent])

    return run


# The origin of a check's own (semantic) findings, as spec findings carry x-remixcheck-origin.
PUBLISHED, CONVENTION = "openai-published", "remixcheck-convention"


def with_origin(findings: list[Finding], origin: str) -> list[Finding]:
    """The findings, each labelled with where the rule it applies comes from (unless it says)."""
    from dataclasses import replace

    return [f if f.origin else replace(f, origin=origin) for f in findings]

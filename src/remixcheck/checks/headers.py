"""Headers the vendor's profile says reach the client, e.g. OpenAI's openai-poll-after-ms.

A gateway that rebuilds responses drops headers it does not know; a client then polls on
its own clock instead of the server's. Which headers are expected comes from the profile.
"""

from __future__ import annotations

from remixcheck.checks import FREE, Check, RequestSpec, register
from remixcheck.checks.common import CONVENTION, with_origin
from remixcheck.checks.context import Context, SkipCheck
from remixcheck.findings import Finding, Severity
from remixcheck.results import CheckResult
from remixcheck.vendors import Profile

RETRIEVE_JOB = RequestSpec("GET", "/videos/{remix}", billing=FREE)


def expected_headers(profile: Profile) -> tuple[str, ...]:
    """Response headers of a video job the profile documents, lower-cased: its polling
    header and the headers it says pass through (a gateway's `passthrough_headers`)."""
    names = [profile.poll_after_header] if profile.poll_after_header else []
    names += profile.passthrough_headers
    return tuple(dict.fromkeys(n.lower() for n in names))


def _applies(profile: Profile) -> str | None:
    return None if expected_headers(profile) else "the vendor's profile expects no headers"


def run(ctx: Context, check: Check) -> CheckResult:
    remix = ctx.sent.get("remix-json")
    if remix is None or ctx.remix_id() is None or not 200 <= remix.status < 300:
        raise SkipCheck("needs the job created by positive.remix-json")
    answers = [("CreateVideoRemix", remix), ("GetVideo", ctx.send(RETRIEVE_JOB))]
    findings: list[Finding] = []
    for operation, sent in answers:
        if not 200 <= sent.status < 300:
            continue
        for name in expected_headers(ctx.profile):
            if name not in sent.headers:
                findings.append(
                    ctx.finding(
                        check,
                        f"header {name}, which the vendor's profile expects, is missing from the "
                        f"{operation} answer"
                        + (
                            ": a client cannot honour the server's polling interval"
                            if name == (ctx.profile.poll_after_header or "").lower()
                            else ""
                        ),
                        expected=f"{name} header",
                        actual=None,
                        location="header",
                        pointer=name,
                        operation=operation,
                        status=sent.status,
                        keyword="header",
                    )
                )
    return ctx.result(check, with_origin(findings, CONVENTION), [s for _, s in answers])


register(
    Check(
        id="headers.expected",
        family="headers",
        title="Documented headers reach the client",
        description="The remix answer and a retrieve of the new job carry every header the profile documents (e.g. openai-poll-after-ms, which OpenAI's SDK waits on between polls).",
        severity=Severity.ERROR,
        requests=(RETRIEVE_JOB,),
        run=run,
        applies=_applies,
    )
)

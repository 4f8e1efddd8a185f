"""Headers the vendor's profile says reach the client, e.g. OpenAI's openai-poll-after-ms.

A gateway that rebuilds responses drops headers it does not know; a client then polls on
its own clock instead of the server's. Which headers are expected comes from the profile:
one it lists under `passthrough_headers` must arrive (a violation otherwise); its polling
header alone is a habit OpenAI's document does not declare, so a server without it gets a
dialect fact ("sends no openai-poll-after-ms").
"""

from __future__ import annotations

from remixcheck.conformance.checks import FREE, Check, RequestSpec, register
from remixcheck.conformance.checks.common import CONVENTION, with_origin
from remixcheck.conformance.checks.context import Context, SkipCheck
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.lifecycle import TERMINAL
from remixcheck.contract.profiles import Profile
from remixcheck.results.model import CheckResult

RETRIEVE_JOB = RequestSpec(
    "GET", "/videos/{remix}", billing=FREE, note="only when lifecycle.* did not poll the job"
)


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
    # The polls of lifecycle.* when they ran; else one retrieve of the job.
    polls = list(ctx.polls) or [ctx.send(RETRIEVE_JOB)]
    answers = [("CreateVideoRemix", remix)] + [("GetVideo", p) for p in polls]
    findings: list[Finding] = []
    judged = 0
    for operation, sent in answers:
        body = sent.json()
        # OpenAI's SDK reads the header while a job is queued or in progress; a finished
        # job's answer need not carry it.
        if (
            not 200 <= sent.status < 300
            or not isinstance(body, dict)
            or body.get("status") in TERMINAL
        ):
            continue
        judged += 1
        for name in expected_headers(ctx.profile):
            if name in sent.headers:
                continue
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
    if not judged:
        raise SkipCheck("the job finished before any answer about it was still in progress")
    # Identical findings (one per poll) once: the count is in the reason.
    unique = list({(f.operation, f.pointer): f for f in findings}.values())
    evidence = [s for _, s in answers][:4]
    # A header the profile says passes through is the gateway's duty; the vendor's own polling
    # hint is a habit no document declares (OpenAI's SDK polls every second without it), so
    # its absence is a dialect fact, never a violation.
    passed_on = {n.lower() for n in ctx.profile.passthrough_headers}
    duties = [f for f in unique if f.pointer in passed_on]
    if unique and not duties:
        missing = ", ".join(dict.fromkeys(f.pointer for f in unique))
        return ctx.info(check, f"sends no {missing}", evidence, [])
    return ctx.result(
        check,
        with_origin(duties, CONVENTION),
        evidence,
        reason=f"{judged} answer(s) about the job in progress judged",
    )


register(
    Check(
        id="headers.expected",
        family="headers",
        title="Documented headers reach the client",
        description="While the new job is queued or in progress, the remix answer and its polls carry every header the profile says passes through (a gateway's passthrough_headers); a server without its own polling header (openai-poll-after-ms, which OpenAI's SDK waits on when present) is told so as a dialect fact.",
        severity=Severity.ERROR,
        requests=(RETRIEVE_JOB,),
        run=run,
        applies=_applies,
        origin=CONVENTION,
        why="the vendor profile says the gateway passes these headers on; OpenAI's SDK waits on openai-poll-after-ms between polls when it is there",
    )
)

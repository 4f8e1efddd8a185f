"""Follow the id a remix job names as its source: retrievable, and the id the client used.

OpenAI's Video object publishes `remixed_from_video_id` as the identifier of the source
video; an identifier a client cannot retrieve (a gateway's upstream id, say) breaks that.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from remixcheck.conformance.checks import FREE, Check, RequestSpec, register
from remixcheck.conformance.checks.common import PUBLISHED, expect_status, with_origin
from remixcheck.conformance.checks.context import Context, SkipCheck
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.quoting import show
from remixcheck.results.model import CheckResult

FIELD = "remixed_from_video_id"
RETRIEVE_JOB = RequestSpec(
    "GET",
    "/videos/{remix}",
    billing=FREE,
    note="only when neither the remix answer nor a poll names the source",
)
RETRIEVE_NAMED = RequestSpec(
    "GET", "/videos/{remixed_from_video_id}", billing=FREE, note="the id the new job names"
)


def _named_source(ctx: Context, sent_all: list[Sent]) -> tuple[Any, int | None]:
    """The source the JSON remix job names, from its answer or else from a retrieve of it."""
    body = ctx.json_of("remix-json")
    if isinstance(body, dict) and body.get(FIELD) is not None:
        return body[FIELD], ctx.sent["remix-json"].status
    # apifree's remix answer documents five fields only: the retrieved job names its source.
    for poll in reversed(ctx.polls):
        data = poll.json()
        if 200 <= poll.status < 300 and isinstance(data, dict) and data.get(FIELD) is not None:
            return data[FIELD], poll.status
    job = ctx.send(RETRIEVE_JOB)
    sent_all.append(job)
    data = job.json()
    if 200 <= job.status < 300 and isinstance(data, dict) and data.get(FIELD) is not None:
        return data[FIELD], job.status
    return None, None


def run(ctx: Context, check: Check) -> CheckResult:
    if ctx.remix_id() is None or ctx.source_id is None:
        raise SkipCheck("needs the job created by positive.remix-json")
    sent_all: list[Sent] = []
    named, status = _named_source(ctx, sent_all)
    if not isinstance(named, str) or not named:
        raise SkipCheck(
            f"the new job names no source ({FIELD}): invariant.remixed-from judges that"
        )
    findings: list[Finding] = []
    if named != ctx.source_id:
        findings.append(
            ctx.finding(
                check,
                f"{FIELD} is {show(named)}, not the id the client remixed ({show(ctx.source_id)})",
                expected=ctx.source_id,
                actual=named,
                pointer="/" + FIELD,
                operation="GetVideo",
                status=status,
            )
        )
    spec = RequestSpec("GET", "/videos/" + quote(named, safe=":@-._~"), billing=FREE)
    followed = ctx.send(spec)
    sent_all.append(followed)
    if followed.status != 200:
        findings.append(
            ctx.finding(
                check,
                f"{FIELD} {show(named)} cannot be retrieved: GET answered {followed.status}",
                expected=200,
                actual=followed.status,
                location="status",
                operation="GetVideo",
                status=followed.status,
                keyword="status",
            )
        )
    else:
        findings += expect_status(ctx, check, followed, (200,), "GetVideo")
        body = followed.json()
        got = body.get("id") if isinstance(body, dict) else None
        if got != named:
            findings.append(
                ctx.finding(
                    check,
                    f"retrieving {show(named)} gives a video with id {show(got)}",
                    expected=named,
                    actual=got,
                    pointer="/id",
                    operation="GetVideo",
                    status=followed.status,
                )
            )
    return ctx.result(check, with_origin(findings, PUBLISHED), sent_all)


register(
    Check(
        id="follow.remixed-from",
        family="follow",
        title="remixed_from_video_id leads to the source",
        description=f"Follow the new job's {FIELD}: it is the id the client remixed, and a retrieve of it answers 200 with that video.",
        severity=Severity.ERROR,
        requests=(RETRIEVE_JOB, RETRIEVE_NAMED),
        run=run,
        origin=PUBLISHED,
        why="OpenAI's document: remixed_from_video_id is the identifier of the source video",
    )
)

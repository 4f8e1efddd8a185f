"""The source video every remix needs: retrieved (or, with budget, created) and completed."""

from __future__ import annotations

from remixcheck.checks import BILLABLE, FREE, Body, Check, RequestSpec, register
from remixcheck.checks.common import expect_status
from remixcheck.checks.context import PROMPT, Context, SkipCheck
from remixcheck.findings import Finding, Severity
from remixcheck.results import CheckResult

CREATE = RequestSpec(
    "POST",
    "/videos",
    Body.json({"prompt": PROMPT}),
    billing=BILLABLE,
    note="only without --video-id",
)
RETRIEVE = RequestSpec(
    "GET", "/videos/{source}", billing=FREE, repeat="until completed (when just created)"
)


def _create_body(ctx: Context) -> Body:
    # A gateway routes a create on fields such as `model`: the profile says which it needs.
    fields = {"prompt": PROMPT, **dict(ctx.profile.create_fields)}
    if ctx.profile.preferred_content_type == "multipart/form-data":
        return Body.multipart(fields)
    return Body.json(fields)


def run(ctx: Context, check: Check) -> CheckResult:
    sent_all = []
    findings: list[Finding] = []
    if ctx.source_id is None:
        if not ctx.settings.create_source:
            raise SkipCheck(
                "no source video: pass --video-id with a completed video, or allow creating one"
            )
        spec = RequestSpec("POST", "/videos", _create_body(ctx), billing=BILLABLE)
        created = ctx.send(spec)
        sent_all.append(created)
        findings += expect_status(ctx, check, created, (200,), "createVideo")
        body = created.json()
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            return ctx.result(
                check, findings, sent_all, reason="creating a source video gave no id"
            )
        ctx.source_id = new_id
        ctx.source_note = "created by this run"
        polls = ctx.poll(RETRIEVE, ("completed", "failed"))
    else:
        polls = [ctx.send(RETRIEVE)]
    sent_all += polls
    for sent in polls:
        findings += expect_status(ctx, check, sent, (200,), "GetVideo")
    last = polls[-1].json()
    status = last.get("status") if isinstance(last, dict) else None
    if status != "completed":
        findings.append(
            ctx.finding(
                check,
                f"source video {ctx.source_id} is {status or 'unreadable'}, not completed: remix checks need a completed video",
                expected="completed",
                actual=status,
                pointer="/status",
                operation="GetVideo",
                status=polls[-1].status,
                severity=Severity.WARNING,
            )
        )
        ctx.source_id = None
    return ctx.result(check, findings, sent_all)


register(
    Check(
        id="source.retrieve",
        family="source",
        title="Source video is retrievable and completed",
        description="Retrieve the source video (creating it first when no --video-id is given and the budget allows); it must validate and be completed.",
        severity=Severity.ERROR,
        requests=(CREATE, RETRIEVE),
        run=run,
    )
)

"""The source video every remix needs: retrieved (or, with budget, created) and completed.

Whether the source is usable is a precondition, not a verdict: a video that is still
queued, has failed, or could not be created ends this check as `precondition` with the
server's own message and the fix. Only a response that breaks the contract is a violation.
"""

from __future__ import annotations

from typing import Any

from remixcheck.conformance.checks import BILLABLE, FREE, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.context import PROMPT, Context, SkipCheck
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.origins import PUBLISHED
from remixcheck.contract.quoting import show, show_text
from remixcheck.results.model import CheckResult, Outcome

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
FIX_GIVEN = "pass --video-id with a completed video, or wait until this one completes"
FIX_CREATED = "pass --video-id with a completed video, or raise --poll-timeout"


def _create_body(ctx: Context) -> Body:
    # A gateway routes a create on fields such as `model`: the profile says which it needs.
    fields = {"prompt": PROMPT, **dict(ctx.profile.create_fields)}
    if ctx.profile.preferred_content_type == "multipart/form-data":
        return Body.multipart(fields)
    return Body.json(fields)


def _server_says(sent: Sent) -> str:
    """The server's own words about a refusal: its error message, else a body excerpt."""
    body = sent.json()
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if message is None and isinstance(error, str):
        message = error
    if message is None and isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    if isinstance(message, str) and message:
        return show(message, 200)
    raw = sent.exchange.response.body if sent.exchange.response is not None else None
    if isinstance(raw, (bytes, bytearray)) and raw:
        return show_text(bytes(raw[:800]).decode("utf-8", "replace"), 200)
    return "(no message)"


def _contract_findings(ctx: Context, sent: Sent, operation: str) -> list[Finding]:
    """Findings on what came back, apart from its status (a refusal is not a verdict here)."""
    if sent.status == 429:
        raise SkipCheck(
            "rate limited (429) beyond the Retry-After budget; retry later or lower --rate"
        )
    return [f for f in ctx.response_findings(sent, operation) if f.check != "response.status"]


def _not_completed(ctx: Context, video: Any, fix: str) -> str:
    status = video.get("status") if isinstance(video, dict) else None
    what = f"source video {show(ctx.source_id, 400)} is {show(status) if status else 'unreadable'}"
    error = video.get("error") if isinstance(video, dict) else None
    if isinstance(error, dict) and error.get("message"):
        what += f" (the server says: {show(error['message'], 200)})"
    elif isinstance(video, dict) and isinstance(video.get("progress"), (int, float)):
        what += f" (progress {video['progress']})"
    return f"{what}, not completed: remix needs a completed video; {fix}"


def _precondition(
    ctx: Context, check: Check, findings: list[Finding], sent: list[Sent], problem: str
) -> CheckResult:
    """The check ends on a precondition, unless what came back also broke the contract."""
    ctx.source_problem = problem
    ctx.pending_source_id = ctx.source_id
    ctx.source_id = None
    result = ctx.result(check, findings, sent, reason=problem)
    if result.outcome is not Outcome.VIOLATION:
        result.outcome = Outcome.PRECONDITION
    return result


def run(ctx: Context, check: Check) -> CheckResult:
    sent_all: list[Sent] = []
    findings: list[Finding] = []
    fix = FIX_GIVEN
    if ctx.source_id is None:
        if not ctx.settings.create_source:
            ctx.source_problem = (
                "no source video: pass --video-id with a completed video, or allow creating one"
            )
            raise SkipCheck(ctx.source_problem)
        fix = FIX_CREATED
        spec = RequestSpec("POST", "/videos", _create_body(ctx), billing=BILLABLE)
        created = ctx.send(spec)
        sent_all.append(created)
        findings += _contract_findings(ctx, created, "createVideo")
        if not 200 <= created.status < 300:
            return _precondition(
                ctx,
                check,
                findings,
                sent_all,
                f"the server refused to create a source video: {created.status} {_server_says(created)}; "
                "pass --video-id with a completed video",
            )
        body = created.json()
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            return _precondition(
                ctx,
                check,
                findings,
                sent_all,
                "creating a source video gave no id; pass --video-id with a completed video",
            )
        ctx.source_id = new_id
        ctx.source_note = "created by this run"
        polls = ctx.poll(RETRIEVE, ("completed", "failed"))
    else:
        polls = [ctx.send(RETRIEVE)]
    sent_all += polls
    for sent in polls:
        findings += _contract_findings(ctx, sent, "GetVideo")
    last = polls[-1]
    if not 200 <= last.status < 300:
        return _precondition(
            ctx,
            check,
            findings,
            sent_all,
            f"retrieving source video {show(ctx.source_id, 400)} answered {last.status} "
            f"{_server_says(last)}; {fix}",
        )
    video = last.json()
    if not isinstance(video, dict) or video.get("status") != "completed":
        return _precondition(ctx, check, findings, sent_all, _not_completed(ctx, video, fix))
    return ctx.result(check, findings, sent_all)


register(
    Check(
        id="source.retrieve",
        family="source",
        title="Source video is retrievable and completed",
        description="Retrieve the source video (creating it first when no --video-id is given and the budget allows); it must validate. A video that is not completed, or cannot be created, is a precondition, not a verdict.",
        severity=Severity.ERROR,
        requests=(CREATE, RETRIEVE),
        run=run,
        origin=PUBLISHED,
        why="retrieve and create answer 200 with a Video (OpenAI's document)",
    )
)

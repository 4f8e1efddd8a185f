"""Positive remix as JSON and multipart, their parity, and invariants of the returned job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from remixcheck.conformance.checks import BILLABLE, MAY_BILL, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.common import expect_status
from remixcheck.conformance.checks.context import MUST_BE_SET, PROMPT, Context, SkipCheck
from remixcheck.contract.deviations import json_type
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.origins import CONVENTION, PUBLISHED
from remixcheck.contract.quoting import show
from remixcheck.results.model import CheckResult

REMIX = "/videos/{source}/remix"
WHY_REMIX = "OpenAI's document: remix takes JSON or multipart {prompt} and answers 200 with a Video"
JSON_REMIX = RequestSpec("POST", REMIX, Body.json({"prompt": PROMPT}), billing=BILLABLE)
MULTIPART_REMIX = RequestSpec("POST", REMIX, Body.multipart({"prompt": PROMPT}), billing=BILLABLE)


def _remix(role: str, spec: RequestSpec) -> Callable[[Context, Check], CheckResult]:
    def run(ctx: Context, check: Check) -> CheckResult:
        if ctx.source_id is None:
            raise SkipCheck(
                f"needs a completed source video: {ctx.source_problem}"
                if ctx.source_problem
                else "no completed source video (see source.retrieve)"
            )
        sent = ctx.send(spec)
        ctx.sent[role] = sent
        return ctx.result(
            check, expect_status(ctx, check, sent, (200,), "CreateVideoRemix"), [sent]
        )

    return run


register(
    Check(
        id="positive.remix-json",
        family="positive",
        title="Remix as JSON",
        description="Remix the completed source video with a JSON {prompt}; expects 200 and a Video that meets the contract.",
        severity=Severity.ERROR,
        requests=(JSON_REMIX,),
        run=_remix("remix-json", JSON_REMIX),
        origin=PUBLISHED,
        why=WHY_REMIX,
    )
)


def _not_completed(ctx: Context, check: Check) -> CheckResult:
    body = ctx.json_of("remix-json")
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise SkipCheck("needs the job created by positive.remix-json")
    if body.get("status") in ("completed", "failed"):
        raise SkipCheck("the new remix job finished before it could be remixed again")
    spec = check.requests[0]
    sent = ctx.send(spec)
    return ctx.result(
        check, expect_status(ctx, check, sent, (400, 409), "CreateVideoRemix"), [sent]
    )


register(
    Check(
        id="negative.remix-not-completed",
        family="negative",
        title="Remix of a video that is not completed",
        description="Remix the job positive.remix-json just created, while it is still queued or in progress. Expects 400 or 409 with the error envelope.",
        severity=Severity.ERROR,
        requests=(
            RequestSpec(
                "POST", "/videos/{remix}/remix", Body.json({"prompt": "x"}), billing=MAY_BILL
            ),
        ),
        run=_not_completed,
        origin=CONVENTION,
        why="OpenAI's document says only a completed video can be remixed but names no status; OpenAI's API refuses with 400 and its error envelope (409 is also seen)",
    )
)

register(
    Check(
        id="positive.remix-multipart",
        family="positive",
        title="Remix as multipart/form-data",
        description="Remix the completed source video with a multipart form field `prompt`; expects 200 and a Video.",
        severity=Severity.ERROR,
        requests=(MULTIPART_REMIX,),
        run=_remix("remix-multipart", MULTIPART_REMIX),
        origin=PUBLISHED,
        why=WHY_REMIX,
    )
)


def _shape(body: Any) -> dict[str, str]:
    return {k: json_type(v) for k, v in body.items()} if isinstance(body, dict) else {}


def _parity(ctx: Context, check: Check) -> CheckResult:
    a, b = ctx.sent.get("remix-json"), ctx.sent.get("remix-multipart")
    if a is None or b is None:
        raise SkipCheck("needs both positive.remix-json and positive.remix-multipart to have run")
    findings: list[Finding] = []
    if a.status // 100 != b.status // 100:
        findings.append(
            ctx.finding(
                check,
                f"JSON remix answered {a.status}, multipart remix answered {b.status}",
                expected=a.status,
                actual=b.status,
                location="status",
                operation="CreateVideoRemix",
                status=b.status,
            )
        )
    else:
        sa, sb = _shape(a.json()), _shape(b.json())
        for key in sorted(sa.keys() | sb.keys()):
            if key in ("id",):
                continue
            if sa.get(key) != sb.get(key):
                findings.append(
                    ctx.finding(
                        check,
                        f"field {show(key)} is {sa.get(key, 'absent')} for JSON but {sb.get(key, 'absent')} for multipart",
                        expected=sa.get(key, "absent"),
                        actual=sb.get(key, "absent"),
                        pointer="/" + key,
                        operation="CreateVideoRemix",
                        status=b.status,
                    )
                )
    return ctx.result(check, findings)


register(
    Check(
        id="positive.parity",
        family="positive",
        title="JSON and multipart remix agree",
        description="The JSON and multipart remixes get the same status class and bodies of the same shape (same fields, same JSON types).",
        severity=Severity.ERROR,
        requests=(),
        run=_parity,
        needs=("positive.remix-json", "positive.remix-multipart"),
        origin=PUBLISHED,
        why="OpenAI's document gives JSON and multipart remix one body schema and one Video answer",
    )
)


def _invariant(
    check_id: str,
    title: str,
    description: str,
    field: str,
    judge: Callable[[Context, dict[str, Any], Any], str | None],
) -> None:
    """A check on one field of the JSON remix job; `judge` returns what is wrong, or None."""

    def run(ctx: Context, check: Check) -> CheckResult:
        sent = ctx.sent.get("remix-json")
        body = sent.json() if sent is not None else None
        if sent is None or not isinstance(body, dict) or not 200 <= sent.status < 300:
            raise SkipCheck("needs a Video from positive.remix-json")
        findings: list[Finding] = []
        if field not in body:
            findings.append(
                ctx.absent_field(
                    check,
                    field,
                    f"{show(field)} is absent, so the invariant cannot hold",
                    operation="CreateVideoRemix",
                    status=sent.status,
                    expected=description,
                    must_be_set=field in MUST_BE_SET,
                )
            )
        else:
            problem = judge(ctx, body, body[field])
            if problem:
                findings.append(
                    ctx.finding(
                        check,
                        problem,
                        expected=description,
                        actual=body[field],
                        pointer="/" + field,
                        operation="CreateVideoRemix",
                        status=sent.status,
                    )
                )
        return ctx.result(check, findings)

    register(
        Check(
            id=check_id,
            family="invariant",
            title=title,
            description=description,
            severity=Severity.ERROR,
            requests=(),
            run=run,
            needs=("positive.remix-json",),
            origin=PUBLISHED,
            why="the meaning of the Video fields in OpenAI's document (their descriptions)",
        )
    )


def _same_id(ctx: Context, value: Any) -> bool:
    fmt = ctx.profile.video_id
    return (
        isinstance(value, str)
        and ctx.source_id is not None
        and fmt.native(value) == fmt.native(ctx.source_id)
    )


_invariant(
    "invariant.object-video",
    'object is "video"',
    'object is exactly "video".',
    "object",
    lambda ctx, b, v: None if v == "video" else f'object is {show(v)}, not "video"',
)
_invariant(
    "invariant.new-id",
    "New job id",
    "id is a non-empty string different from the source video id.",
    "id",
    lambda ctx, b, v: (
        "id is empty or not a string"
        if not isinstance(v, str) or not v
        else ("the remix reuses the source video id" if _same_id(ctx, v) else None)
    ),
)
_invariant(
    "invariant.remixed-from",
    "remixed_from_video_id is the source",
    "remixed_from_video_id is the source video id, in the vendor's id format.",
    "remixed_from_video_id",
    lambda ctx, b, v: (
        None
        if v == ctx.source_id
        else f"remixed_from_video_id is {show(v, 80)}, expected {show(ctx.source_id, 80)}"
    ),
)
_invariant(
    "invariant.prompt-echo",
    "Prompt echoed",
    "prompt is the prompt that was sent.",
    "prompt",
    lambda ctx, b, v: None if v == ctx.prompt else f"prompt is {show(v, 80)}, not the prompt sent",
)
_invariant(
    "invariant.initial-status",
    "Starts queued or in progress",
    "status is queued or in_progress when the remix is created.",
    "status",
    lambda ctx, b, v: (
        None if v in ("queued", "in_progress") else f"a new remix job has status {show(v)}"
    ),
)
_invariant(
    "invariant.completed-at-null",
    "completed_at null until completed",
    "completed_at is null unless status is completed.",
    "completed_at",
    lambda ctx, b, v: (
        None
        if v is None or b.get("status") == "completed"
        else f"completed_at is {show(v)} while status is {show(b.get('status'))}"
    ),
)
_invariant(
    "invariant.error-null",
    "error null unless failed",
    "error is null unless status is failed.",
    "error",
    lambda ctx, b, v: (
        None
        if v is None or b.get("status") == "failed"
        else f"error is set while status is {show(b.get('status'))}"
    ),
)
_invariant(
    "invariant.progress-range",
    "progress within 0..100",
    "progress is a number within 0..100.",
    "progress",
    lambda ctx, b, v: (
        None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 100
        else f"progress {show(v)} is outside 0..100"
    ),
)

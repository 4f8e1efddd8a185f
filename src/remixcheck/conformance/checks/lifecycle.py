"""Lifecycle of the JSON remix job: poll until terminal, every poll valid and moving forward."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from remixcheck.conformance.checks import FREE, Check, RequestSpec, register
from remixcheck.conformance.checks.common import expect_status
from remixcheck.conformance.checks.context import (
    MUST_BE_SET,
    Context,
    ErrorCheck,
    SkipCheck,
)
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.lifecycle import TERMINAL, is_number, progress_fell, status_went_back
from remixcheck.contract.origins import CONVENTION, PUBLISHED
from remixcheck.contract.quoting import show
from remixcheck.results.model import CheckResult

# The order of the statuses and the rules a job keeps: contract/lifecycle.py.
WHY_LIFECYCLE = (
    "OpenAI's SDK polls while queued or in_progress and stops at completed or failed, so a "
    "job only moves forward and a finished one keeps its fields"
)

POLL = RequestSpec(
    "GET",
    "/videos/{remix}",
    billing=FREE,
    repeat="until completed or failed (honouring openai-poll-after-ms), then once more",
)


def _polls(ctx: Context) -> list[Any]:
    if ctx.remix_id() is None:
        raise SkipCheck("needs the job created by positive.remix-json")
    if not ctx.polls:
        raise SkipCheck("the job was not polled")
    return [s.json() for s in ctx.polls]


def _poll_run(ctx: Context, check: Check) -> CheckResult:
    if ctx.remix_id() is None:
        raise SkipCheck("needs the job created by positive.remix-json")
    ctx.polls = ctx.poll(POLL, TERMINAL)
    last = ctx.polls[-1].json()
    ctx.poll_outcome = (
        str(last["status"])
        if isinstance(last, dict) and last.get("status") in TERMINAL
        else "deadline"
    )
    if ctx.poll_outcome in TERMINAL:
        # A terminal status must stay put: one more retrieve shows a job that falls back.
        ctx.polls.append(ctx.send(POLL))
    findings: list[Finding] = []
    for sent in ctx.polls:
        findings += expect_status(ctx, check, sent, (200,), "GetVideo")
    header = ctx.profile.poll_after_header or "poll-after"
    for value in ctx.bad_poll_after:
        findings.append(
            ctx.finding(
                check,
                f"{header} {show(value)} is not a whole number of milliseconds;"
                " polled at --poll-interval instead",
                expected="milliseconds (digits)",
                actual=value,
                location="header",
                pointer=header.lower(),
                operation="GetVideo",
                keyword="format",
            )
        )
    return ctx.result(
        check, findings, ctx.polls, reason=f"{len(ctx.polls)} polls, ended {ctx.poll_outcome}"
    )


register(
    Check(
        id="lifecycle.polls-valid",
        family="lifecycle",
        title="Every poll validates",
        description="Retrieve the remix job until completed or failed (or the poll deadline), honouring openai-poll-after-ms; every response must be a valid Video.",
        severity=Severity.ERROR,
        requests=(POLL,),
        run=_poll_run,
        origin=PUBLISHED,
        why="OpenAI's document: retrieve answers 200 with a Video",
    )
)


def _judged(
    check_id: str,
    title: str,
    description: str,
    judge: Callable[[Context, Check, list[Any]], list[Finding]],
) -> None:
    def run(ctx: Context, check: Check) -> CheckResult:
        return ctx.result(check, judge(ctx, check, _polls(ctx)))

    register(
        Check(
            id=check_id,
            family="lifecycle",
            title=title,
            description=description,
            severity=Severity.ERROR,
            requests=(),
            run=run,
            needs=("lifecycle.polls-valid",),
            origin=CONVENTION,
            why=WHY_LIFECYCLE,
        )
    )


def _forward(ctx: Context, check: Check, bodies: list[Any]) -> list[Finding]:
    seen: list[str] = [
        b["status"] for b in bodies if isinstance(b, dict) and isinstance(b.get("status"), str)
    ]
    first = ctx.json_of("remix-json")
    if isinstance(first, dict) and isinstance(first.get("status"), str):
        seen.insert(0, first["status"])
    out = []
    for before, after in pairwise(seen):
        if status_went_back(before, after):
            out.append(
                ctx.finding(
                    check,
                    f"status went back from {show(before)} to {show(after)}",
                    expected=f"{before} or later",
                    actual=after,
                    pointer="/status",
                    operation="GetVideo",
                )
            )
    return out


def _monotonic(ctx: Context, check: Check, bodies: list[Any]) -> list[Finding]:
    values = [b["progress"] for b in bodies if isinstance(b, dict) and is_number(b.get("progress"))]
    out = []
    for before, after in pairwise(values):
        if progress_fell(before, after):
            out.append(
                ctx.finding(
                    check,
                    f"progress fell from {before} to {after}",
                    expected=f">= {before}",
                    actual=after,
                    pointer="/progress",
                    operation="GetVideo",
                )
            )
    return out


def _terminal(ctx: Context, check: Check, bodies: list[Any]) -> list[Finding]:
    terminal = [b for b in bodies if isinstance(b, dict) and b.get("status") in TERMINAL]
    last = terminal[0] if terminal else bodies[-1]
    if ctx.poll_outcome == "deadline" or not isinstance(last, dict):
        raise ErrorCheck(
            f"the job did not finish within the poll deadline ({ctx.settings.poll_timeout:g} s); raise --poll-timeout"
        )
    out = []
    status = last.get("status")
    if status == "completed":
        for name in ("completed_at", "expires_at"):
            value = last.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                out.append(
                    _unset(ctx, check, name, last, f"{name} must be set once the job is completed")
                )
        if last.get("error") is not None:
            out.append(
                ctx.finding(
                    check,
                    "a completed job carries an error",
                    expected=None,
                    actual=last.get("error"),
                    pointer="/error",
                    operation="GetVideo",
                )
            )
    elif status == "failed":
        error = last.get("error")
        if (
            not isinstance(error, dict)
            or not isinstance(error.get("code"), str)
            or not isinstance(error.get("message"), str)
        ):
            out.append(
                _unset(ctx, check, "error", last, "a failed job must carry error {code, message}")
            )
    return out


def _unset(ctx: Context, check: Check, name: str, body: dict[str, Any], message: str) -> Finding:
    """A terminal field that is missing or wrong. On a finished job it must hold a value,
    so an "omits empty fields" dialect cannot explain its absence."""
    if name not in body:
        return ctx.absent_field(
            check, name, message, operation="GetVideo", status=200, expected="set", must_be_set=True
        )
    return ctx.finding(
        check, message, expected="set", actual=body[name], pointer="/" + name, operation="GetVideo"
    )


def _same_job(ctx: Context, check: Check, bodies: list[Any]) -> list[Finding]:
    remix_id = ctx.remix_id()
    out = []
    for n, body in enumerate(bodies, start=1):
        if not isinstance(body, dict):
            continue
        for name, want in (("id", remix_id), ("remixed_from_video_id", ctx.source_id)):
            if name not in body:
                out.append(
                    ctx.absent_field(
                        check,
                        name,
                        f"poll {n}: {name} is absent; expected {show(want)}",
                        operation="GetVideo",
                        status=200,
                        expected=want,
                        must_be_set=name in MUST_BE_SET,
                    )
                )
            elif body[name] != want:
                out.append(
                    ctx.finding(
                        check,
                        f"poll {n}: {name} is {show(body[name])}, expected {show(want)}",
                        expected=want,
                        actual=body[name],
                        pointer="/" + name,
                        operation="GetVideo",
                    )
                )
    return out


_judged(
    "lifecycle.same-job",
    "Polls describe the same remix",
    "Every poll carries the remix job's id and names the source video in remixed_from_video_id.",
    _same_job,
)
_judged(
    "lifecycle.status-forward",
    "Status only moves forward",
    "Across the creation response and every poll, status never goes back (queued -> in_progress -> completed|failed).",
    _forward,
)
_judged(
    "lifecycle.progress-monotonic",
    "Progress never decreases",
    "Across every poll, progress never decreases.",
    _monotonic,
)
_judged(
    "lifecycle.terminal-fields",
    "Terminal job is complete",
    "On completed, completed_at and expires_at are set; on failed, error has code and message.",
    _terminal,
)

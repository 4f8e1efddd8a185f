"""Error content: not the envelope's shape (the schema judges that) but what it says.

Gateways get the shape right and the content wrong: `param` null although the request
named the field, the HTTP status as `code`, an upstream error's JSON stuffed into
`message`, an upstream id the client never sent. OpenAI's API does none of these (its
`code` is a machine-readable string or null, `param` names the field at fault), so each
rule is a convention of OpenAI's API, and a break is a violation labelled as such.

Besides its own probe, each check reads every error answer the run collected before it,
so it runs after the other families.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from remixcheck.conformance.checks import FREE, MAY_BILL, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.common import CONVENTION, with_origin
from remixcheck.conformance.checks.context import Context, SkipCheck
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.quoting import show, show_text
from remixcheck.results.model import CheckResult

FAMILY = "error-content"
# One finding per distinct problem is enough; the evidence shows up to this many answers.
MAX_EVIDENCE = 3
# Video ids as OpenAI and the gateways write them: video_ then an opaque (maybe base64) tail,
# with Bifrost's :provider suffix.
_VIDEO_ID = re.compile(r"\bvideo_[A-Za-z0-9+/=_\-]+(?::[A-Za-z0-9_\-]+)?")
# Words of that shape that are names, not ids ("video_id must be in id:provider format").
_NOT_IDS = frozenset({"video_id", "video_ids"})
_STATUS_CODE = re.compile(r"^[1-5][0-9][0-9]$")

INVALID_TYPE = RequestSpec(
    "POST",
    "/videos/{source}/remix",
    Body.json({"prompt": 12345}),
    billing=MAY_BILL,
    note="the error is in field prompt",
)
UNKNOWN_RETRIEVE = RequestSpec("GET", "/videos/{unknown}", billing=FREE)
UNKNOWN_REMIX = RequestSpec(
    "POST", "/videos/{unknown}/remix", Body.json({"prompt": "x"}), billing=FREE
)


def error_object(sent: Sent) -> dict[str, Any] | None:
    """The inner error object of an error answer (OpenAI's and Bifrost's envelopes both nest it)."""
    body = sent.json()
    inner = body.get("error") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else None


def _answers(ctx: Context, own: Iterable[tuple[str, Sent]]) -> list[tuple[str, Sent]]:
    """The run's error answers so far plus the check's own, each once."""
    seen: set[int] = set()
    out = []
    for operation, sent in [*ctx.error_responses, *own]:
        if id(sent) not in seen and sent.status >= 400 and sent.status != 429:
            seen.add(id(sent))
            out.append((operation, sent))
    return out


def _judge_all(
    probe: RequestSpec,
    judge: Callable[[Context, Check, str, Sent], list[Finding]],
) -> Callable[[Context, Check], CheckResult]:
    """A run function: send the probe, then judge every error answer of the run with `judge`."""

    def run(ctx: Context, check: Check) -> CheckResult:
        sent = ctx.send(probe)
        findings: list[Finding] = []
        shown: list[Sent] = []
        keys: set[tuple[Any, ...]] = set()
        answers = _answers(ctx, [(probe.operation, sent)])
        for operation, answer in answers:
            for f in judge(ctx, check, operation, answer):
                key = (f.pointer, f.message)
                if key in keys:
                    continue
                keys.add(key)
                findings.append(f)
                if len(shown) < MAX_EVIDENCE and all(s is not answer for s in shown):
                    shown.append(answer)
        return ctx.result(
            check,
            with_origin(findings, CONVENTION),
            shown or [sent],
            reason=f"{len(answers)} error answer(s) judged",
        )

    return run


# OpenAI's document declares its Error object for the API at large, not for video operations.
WHY_ERROR_OBJECT = (
    "OpenAI's API answers errors with its error object: param names the field at fault, code "
    "is machine-readable, message is for people"
)


def _family(check_id: str, title: str, description: str, probe: RequestSpec, judge: Any) -> None:
    register(
        Check(
            id=check_id,
            family=FAMILY,
            title=title,
            description=description,
            severity=Severity.ERROR,
            requests=(probe,),
            run=_judge_all(probe, judge),
            origin=CONVENTION,
            why=WHY_ERROR_OBJECT,
        )
    )


# -- param ---------------------------------------------------------------------------------


def _param_run(ctx: Context, check: Check) -> CheckResult:
    sent = ctx.send(INVALID_TYPE)
    inner = error_object(sent)
    if not 400 <= sent.status < 500 or inner is None:
        raise SkipCheck(
            f"the probe got {sent.status} without an error object, so there is no param to judge "
            "(negative.non-string-prompt judges the status)"
        )
    findings: list[Finding] = []
    param = inner.get("param")
    # Bifrost's envelope makes param optional: leaving it out says nothing wrong.
    optional = ctx.profile.error_envelope != "openai"
    if param != "prompt" and not (optional and "param" not in inner):
        shown = "absent" if "param" not in inner else show(param)
        findings.append(
            ctx.finding(
                check,
                f"error.param is {shown} although the request's error is in field prompt",
                expected="prompt",
                actual=param,
                pointer="/error/param",
                operation=INVALID_TYPE.operation,
                status=sent.status,
            )
        )
    return ctx.result(check, with_origin(findings, CONVENTION), [sent])


register(
    Check(
        id="error-content.param-named",
        family=FAMILY,
        title="param names the field at fault",
        description='Remix with {"prompt": 12345}: the error\'s param must be "prompt", not null.',
        severity=Severity.ERROR,
        requests=(INVALID_TYPE,),
        run=_param_run,
        origin=CONVENTION,
        why=WHY_ERROR_OBJECT,
    )
)


# -- code ----------------------------------------------------------------------------------


def _code(ctx: Context, check: Check, operation: str, sent: Sent) -> list[Finding]:
    inner = error_object(sent)
    code = inner.get("code") if inner else None
    if not isinstance(code, str) or not _STATUS_CODE.match(code):
        return []
    return [
        ctx.finding(
            check,
            f"error.code is {show(code)}, the HTTP status as a string, not a machine-readable code",
            expected="a machine-readable code (e.g. invalid_value) or null",
            actual=code,
            pointer="/error/code",
            operation=operation,
            status=sent.status,
        )
    ]


_family(
    "error-content.code-not-status",
    "code is not the HTTP status",
    "Every error answer of the run (and a retrieve of an unknown id): error.code is a "
    'machine-readable code or null, never the HTTP status as a string ("404").',
    UNKNOWN_RETRIEVE,
    _code,
)


# -- message -------------------------------------------------------------------------------


def embedded_json(message: str) -> Any:
    """The first JSON object inside a message (an upstream error stringified into it), or None."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", message):
        try:
            value, _ = decoder.raw_decode(message, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict) and value:
            return value
    return None


def _message_json(ctx: Context, check: Check, operation: str, sent: Sent) -> list[Finding]:
    inner = error_object(sent)
    message = inner.get("message") if inner else None
    if not isinstance(message, str):
        return []
    nested = embedded_json(message)
    if nested is None:
        return []
    return [
        ctx.finding(
            check,
            "error.message holds another error's JSON (an upstream error passed on as text): "
            f"{show(nested, 160)}",
            expected="a human-readable message",
            actual=show_text(message),
            pointer="/error/message",
            operation=operation,
            status=sent.status,
        )
    ]


_family(
    "error-content.message-not-json",
    "message is text, not an upstream error's JSON",
    "Every error answer of the run (and a remix of an unknown id): error.message is a "
    "human-readable message, not the JSON of an upstream error stuffed into a string.",
    UNKNOWN_REMIX,
    _message_json,
)


def foreign_ids(message: str, sent: Sent) -> list[str]:
    """Video ids a message names that the request never carried (in its path or body)."""
    request = sent.exchange.request
    body = request.body
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    elif body is not None and not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False)
    carried = unquote(request.url) + "\n" + (body or "")
    out = []
    for token in _VIDEO_ID.findall(message):
        token = token.rstrip("=.")
        if token and token not in _NOT_IDS and token not in carried and token not in out:
            out.append(token)
    return out


def _message_ids(ctx: Context, check: Check, operation: str, sent: Sent) -> list[Finding]:
    inner = error_object(sent)
    message = inner.get("message") if inner else None
    if not isinstance(message, str):
        return []
    ids = foreign_ids(message, sent)
    if not ids:
        return []
    return [
        ctx.finding(
            check,
            f"error.message names {', '.join(show(i) for i in ids[:3])}, an id this request "
            "never sent (an upstream id leaking through)",
            expected="only ids the client sent",
            actual=ids,
            pointer="/error/message",
            operation=operation,
            status=sent.status,
        )
    ]


_family(
    "error-content.message-ids",
    "message names only ids the client sent",
    "Every error answer of the run (and a retrieve of an unknown id): a video id the message "
    "names (video_...) is one the request carried, not an upstream id the client never saw.",
    UNKNOWN_RETRIEVE,
    _message_ids,
)

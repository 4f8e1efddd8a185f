"""Negative cases: each bad request must get the right 4xx and the error envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from remixcheck.conformance.checks import FREE, MAY_BILL, Body, Check, RequestSpec, register
from remixcheck.conformance.checks.common import single_request
from remixcheck.conformance.checks.context import Context, SkipCheck
from remixcheck.contract.findings import Severity
from remixcheck.contract.origins import (
    CONVENTION,
    OBSERVATION,
    PUBLISHED,
    WHY_AUTH,
    WHY_INVALID,
    WHY_NOT_FOUND,
)
from remixcheck.contract.profiles import Profile
from remixcheck.results.model import CheckResult

REMIX = "/videos/{source}/remix"
LONG = 32001
WHY_PROMPT = (
    f"the prompt limits (required, 1..32000 characters, a string) are OpenAI's; {WHY_INVALID}"
)
WHY_PATH = (
    "an id that names no video is an unknown id, never another path; OpenAI's API answers "
    "it with 400 or 404 and its error envelope"
)
WHY_CONTENT_TYPE = (
    "OpenAI's document accepts application/json and multipart/form-data only; "
    "OpenAI's API refuses other bodies with 400 (servers also use 415) and its error envelope"
)
_LONG_SHELL = '$(python3 -c \'import json; print(json.dumps({"prompt": "x" * 32001}))\')'


def _has_bare_form(profile: Profile) -> str | None:
    if not profile.video_id.has_bare_form:
        return "the vendor's ids are opaque: there is no bare form to send"
    return None


def _negative(
    check_id: str,
    title: str,
    description: str,
    spec: RequestSpec,
    expected: tuple[int, ...],
    *,
    why: str,
    applies: Callable[[Profile], str | None] | None = None,
) -> None:
    extra: dict[str, Any] = {"applies": applies} if applies else {}
    register(
        Check(
            id=check_id,
            family="negative",
            title=title,
            description=f"{description} Expects {' or '.join(map(str, expected))} with the error envelope.",
            severity=Severity.ERROR,
            requests=(spec,),
            run=single_request(expected),
            origin=CONVENTION,
            why=why,
            **extra,
        )
    )


_negative(
    "negative.missing-auth",
    "Remix without credentials",
    "Remix a real video with no Authorization header.",
    RequestSpec(
        "POST", REMIX, Body.json({"prompt": "x"}), auth="none", billing=FREE, any_source=True
    ),
    (401,),
    why=WHY_AUTH,
)
_negative(
    "negative.invalid-key",
    "Remix with an invalid key",
    "Remix a real video with a well-formed but wrong bearer key.",
    RequestSpec(
        "POST", REMIX, Body.json({"prompt": "x"}), auth="invalid", billing=FREE, any_source=True
    ),
    (401,),
    why=WHY_AUTH,
)
_negative(
    "negative.unknown-video",
    "Remix of an unknown video",
    "Remix a video id (in the vendor's format) that does not exist.",
    RequestSpec("POST", "/videos/{unknown}/remix", Body.json({"prompt": "x"}), billing=FREE),
    (404,),
    why=WHY_NOT_FOUND,
)
_negative(
    "negative.retrieve-unknown",
    "Retrieve of an unknown video",
    "Retrieve a video id (in the vendor's format) that does not exist.",
    RequestSpec("GET", "/videos/{unknown}", billing=FREE),
    (404,),
    why=WHY_NOT_FOUND,
)
_negative(
    "negative.path-traversal",
    "Video id `..`",
    "Retrieve with `..` as the id, sent as is: must not climb out of /videos.",
    RequestSpec("GET", "/videos/..", billing=FREE, note="path sent as is, not normalised"),
    (400, 404),
    why=WHY_PATH,
)
_negative(
    "negative.encoded-slash",
    "Video id with %2F",
    "Retrieve an id holding an encoded slash: must be one unknown id, not another path.",
    RequestSpec("GET", "/videos/video_remixcheck%2F..%2Fvideos", billing=FREE),
    (400, 404),
    why=WHY_PATH,
)
_negative(
    "negative.bare-video-id",
    "Bare id where the vendor wants its own id form",
    "Retrieve the source video by its bare native id (without Bifrost's :provider; a gateway's decoded upstream id): the canonical contract answers an unknown id with 404.",
    RequestSpec("GET", "/videos/{bare}", billing=FREE),
    (404,),
    why=WHY_NOT_FOUND,
    applies=_has_bare_form,
)
_negative(
    "negative.empty-prompt",
    "Empty prompt",
    'Remix a real video with {"prompt": ""} (minLength 1).',
    RequestSpec("POST", REMIX, Body.json({"prompt": ""}), billing=MAY_BILL, any_source=True),
    (400,),
    why=WHY_PROMPT,
)
_negative(
    "negative.missing-prompt",
    "Missing prompt",
    "Remix a real video with an empty JSON object.",
    RequestSpec("POST", REMIX, Body.json({}), billing=MAY_BILL, any_source=True),
    (400,),
    why=WHY_PROMPT,
)
_negative(
    "negative.prompt-too-long",
    "Prompt of 32,001 characters",
    "Remix a real video with a prompt one character over maxLength 32000.",
    RequestSpec(
        "POST",
        REMIX,
        Body.json({"prompt": "x" * LONG}, shell=_LONG_SHELL),
        billing=MAY_BILL,
        any_source=True,
    ),
    (400,),
    why=WHY_PROMPT,
)
_negative(
    "negative.non-string-prompt",
    "Non-string prompt",
    'Remix a real video with {"prompt": 12345}.',
    RequestSpec("POST", REMIX, Body.json({"prompt": 12345}), billing=MAY_BILL, any_source=True),
    (400,),
    why=WHY_PROMPT,
)
_negative(
    "negative.malformed-json",
    "Malformed JSON",
    "Remix a real video with a JSON body cut in the middle.",
    RequestSpec(
        "POST",
        REMIX,
        Body.raw(b'{"prompt": "snow', "application/json"),
        billing=MAY_BILL,
        any_source=True,
    ),
    (400,),
    why=WHY_INVALID,
)
_negative(
    "negative.unsupported-content-type",
    "Unsupported content type",
    "Remix a real video with a valid JSON body labelled text/plain: a server that ignores Content-Type would take it.",
    RequestSpec(
        "POST",
        REMIX,
        Body.raw(b'{"prompt": "snowy dawn"}', "text/plain"),
        billing=MAY_BILL,
        any_source=True,
    ),
    (400, 415),
    why=WHY_CONTENT_TYPE,
)


# OpenAI's document leaves the remix body open (no additionalProperties) and says nothing of
# what a server does with a field it does not know; OpenAI's SDK sends extra keys through
# `extra_body`. Accepting and rejecting are both faithful, so the answer is a dialect fact.
UNKNOWN_FIELD = RequestSpec(
    "POST",
    REMIX,
    Body.json({"prompt": "snowy dawn", "remixcheck_unknown": 1}),
    billing=MAY_BILL,
)


def _unknown_field(ctx: Context, check: Check) -> CheckResult:
    sent = ctx.send(UNKNOWN_FIELD)
    if sent.status == 429:
        raise SkipCheck(
            "rate limited (429) beyond the Retry-After budget; retry later or lower --rate"
        )
    findings = ctx.response_findings(sent, "CreateVideoRemix")
    if sent.status >= 500:
        # The body is valid by OpenAI's document (its remix body is open): a server error
        # is judged as it is on any valid remix.
        findings.append(
            ctx.finding(
                check,
                f"a valid remix (the remix body is open) answered {sent.status}",
                expected=[200],
                actual=sent.status,
                location="status",
                operation="CreateVideoRemix",
                status=sent.status,
                keyword="status",
                severity=Severity.ERROR,
                origin=PUBLISHED,
                why="OpenAI's document leaves the remix body open: this request is valid and answered 200 with a Video",
            )
        )
        return ctx.result(check, findings, [sent], reason=f"a valid remix answered {sent.status}")
    if 200 <= sent.status < 300:
        fact = "ignores unknown fields"
    elif sent.status == 400:
        fact = "rejects unknown fields"
    else:
        fact = f"answers a remix with an unknown field {sent.status}"
    result = ctx.result(check, findings, [sent], reason=fact)
    if result.outcome.value in ("pass", "deviation"):
        return ctx.info(check, fact, [sent], findings)
    result.fact = fact
    return result


register(
    Check(
        id="negative.unknown-field",
        family="negative",
        title="Unknown body field",
        description=(
            'Remix a real video with {"prompt": ..., "remixcheck_unknown": 1}. OpenAI\'s document '
            "leaves the remix body open and says nothing of unknown fields, so the answer is "
            'recorded as a dialect fact ("ignores unknown fields" / "rejects unknown fields"), '
            "never a violation; the response itself is still judged."
        ),
        severity=Severity.INFO,
        requests=(UNKNOWN_FIELD,),
        run=_unknown_field,
        origin=OBSERVATION,
        why="OpenAI's document leaves the remix body open and does not say what a server does with an unknown field",
    )
)

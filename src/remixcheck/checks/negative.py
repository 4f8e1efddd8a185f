"""Negative cases: each bad request must get the right 4xx and the error envelope."""

from __future__ import annotations

from collections.abc import Callable

from remixcheck.checks import FREE, MAY_BILL, Body, Check, RequestSpec, register
from remixcheck.checks.common import single_request
from remixcheck.findings import Severity
from remixcheck.vendors import Profile

REMIX = "/videos/{source}/remix"
LONG = 32001
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
    applies: Callable[[Profile], str | None] | None = None,
) -> None:
    register(
        Check(
            id=check_id,
            family="negative",
            title=title,
            description=f"{description} Expects {' or '.join(map(str, expected))} with the error envelope.",
            severity=Severity.ERROR,
            requests=(spec,),
            run=single_request(expected),
            **({"applies": applies} if applies else {}),
        )
    )


_negative(
    "negative.missing-auth",
    "Remix without credentials",
    "Remix a real video with no Authorization header.",
    RequestSpec("POST", REMIX, Body.json({"prompt": "x"}), auth="none", billing=FREE),
    (401,),
)
_negative(
    "negative.invalid-key",
    "Remix with an invalid key",
    "Remix a real video with a well-formed but wrong bearer key.",
    RequestSpec("POST", REMIX, Body.json({"prompt": "x"}), auth="invalid", billing=FREE),
    (401,),
)
_negative(
    "negative.unknown-video",
    "Remix of an unknown video",
    "Remix a video id (in the vendor's format) that does not exist.",
    RequestSpec("POST", "/videos/{unknown}/remix", Body.json({"prompt": "x"}), billing=FREE),
    (404,),
)
_negative(
    "negative.retrieve-unknown",
    "Retrieve of an unknown video",
    "Retrieve a video id (in the vendor's format) that does not exist.",
    RequestSpec("GET", "/videos/{unknown}", billing=FREE),
    (404,),
)
_negative(
    "negative.path-traversal",
    "Video id `..`",
    "Retrieve with `..` as the id, sent as is: must not climb out of /videos.",
    RequestSpec("GET", "/videos/..", billing=FREE, note="path sent as is, not normalised"),
    (400, 404),
)
_negative(
    "negative.encoded-slash",
    "Video id with %2F",
    "Retrieve an id holding an encoded slash: must be one unknown id, not another path.",
    RequestSpec("GET", "/videos/video_remixcheck%2F..%2Fvideos", billing=FREE),
    (400, 404),
)
_negative(
    "negative.bare-video-id",
    "Bare id where the vendor wants its own id form",
    "Retrieve the source video by its bare native id (without Bifrost's :provider; a gateway's decoded upstream id): the canonical contract answers an unknown id with 404.",
    RequestSpec("GET", "/videos/{bare}", billing=FREE),
    (404,),
    applies=_has_bare_form,
)
_negative(
    "negative.empty-prompt",
    "Empty prompt",
    'Remix a real video with {"prompt": ""} (minLength 1).',
    RequestSpec("POST", REMIX, Body.json({"prompt": ""}), billing=MAY_BILL),
    (400,),
)
_negative(
    "negative.missing-prompt",
    "Missing prompt",
    "Remix a real video with an empty JSON object.",
    RequestSpec("POST", REMIX, Body.json({}), billing=MAY_BILL),
    (400,),
)
_negative(
    "negative.prompt-too-long",
    "Prompt of 32,001 characters",
    "Remix a real video with a prompt one character over maxLength 32000.",
    RequestSpec(
        "POST", REMIX, Body.json({"prompt": "x" * LONG}, shell=_LONG_SHELL), billing=MAY_BILL
    ),
    (400,),
)
_negative(
    "negative.non-string-prompt",
    "Non-string prompt",
    'Remix a real video with {"prompt": 12345}.',
    RequestSpec("POST", REMIX, Body.json({"prompt": 12345}), billing=MAY_BILL),
    (400,),
)
_negative(
    "negative.unknown-field",
    "Unknown body field",
    'Remix a real video with {"prompt": ..., "remixcheck_unknown": 1}: the remix body allows no other properties.',
    RequestSpec(
        "POST",
        REMIX,
        Body.json({"prompt": "snowy dawn", "remixcheck_unknown": 1}),
        billing=MAY_BILL,
    ),
    (400,),
)
_negative(
    "negative.malformed-json",
    "Malformed JSON",
    "Remix a real video with a JSON body cut in the middle.",
    RequestSpec("POST", REMIX, Body.raw(b'{"prompt": "snow', "application/json"), billing=MAY_BILL),
    (400,),
)
_negative(
    "negative.unsupported-content-type",
    "Unsupported content type",
    "Remix a real video with a valid JSON body labelled text/plain: a server that ignores Content-Type would take it.",
    RequestSpec(
        "POST", REMIX, Body.raw(b'{"prompt": "snowy dawn"}', "text/plain"), billing=MAY_BILL
    ),
    (400, 415),
)

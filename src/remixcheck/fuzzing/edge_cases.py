"""Remix edge cases of remixcheck's own, sent first so that a small budget still covers them."""

from __future__ import annotations

from collections.abc import Iterator

from remixcheck.conformance.checks import Body
from remixcheck.conformance.checks.context import PROMPT
from remixcheck.contract import profiles as vendors
from remixcheck.fuzzing.cases import (
    CREATE_OP,
    HOSTILE,
    JOB,
    REMIX_OP,
    RETRIEVE_OP,
    SOURCE,
    UNKNOWN,
)
from remixcheck.fuzzing.drafts import (
    CONTROL_PROMPT,
    REMIXCHECK,
    UNICODE_PROMPT,
    Draft,
    Ids,
    path_segment,
)

REMIX, VIDEO, VIDEOS = "/videos/{video_id}/remix", "/videos/{video_id}", "/videos"


def edge_cases(profile: vendors.Profile, ids: Ids) -> Iterator[Draft]:
    """Remix-aware cases the contract alone cannot produce, or that a small budget must not miss."""
    Id = tuple[str, str | None]  # (id kind, raw path segment; None: the job started last)
    source: Id = (
        (SOURCE, path_segment(ids.source)) if ids.source else (UNKNOWN, path_segment(ids.unknown))
    )
    unknown: Id = (UNKNOWN, path_segment(ids.unknown))

    def remix(body: Body, what: str, *, auth: str = "valid", to: Id = source) -> Draft:
        return Draft(
            REMIXCHECK, REMIX_OP, "POST", REMIX, body.content, body.content_type, auth, what, *to
        )

    def retrieve(what: str, *, auth: str = "valid", to: Id = source) -> Draft:
        return Draft(REMIXCHECK, RETRIEVE_OP, "GET", VIDEO, None, None, auth, what, *to)

    def create(body: Body, what: str, *, auth: str = "valid") -> Draft:
        return Draft(
            REMIXCHECK, CREATE_OP, "POST", VIDEOS, body.content, body.content_type, auth, what
        )

    ok = Body.json({"prompt": PROMPT})
    yield retrieve("retrieve the source video")
    yield remix(ok, "remix as JSON")
    yield remix(
        ok, "remix of the job this run just started, before it can complete", to=(JOB, None)
    )
    yield remix(ok, "remix without a key", auth="none")
    yield remix(ok, "remix with a wrong key", auth="invalid")
    yield remix(Body.json({"prompt": ""}), "empty prompt (0 characters)")
    yield remix(Body.json({"prompt": "x" * 32001}), "prompt of 32001 characters")
    yield remix(Body.json({"prompt": PROMPT, "remixcheck_unknown": 1}), "unknown body field")
    yield retrieve("retrieve the source video again (it must stay completed)")
    yield retrieve("retrieve an id in the vendor's format that does not exist", to=unknown)
    yield remix(Body.multipart({"prompt": PROMPT}), "remix as multipart/form-data")
    yield remix(Body.json({"prompt": "x"}), "prompt of 1 character")
    yield remix(Body.json({"prompt": "x" * 32000}), "prompt of 32000 characters")
    yield remix(Body.json({"prompt": UNICODE_PROMPT}), "unicode prompt")
    yield remix(Body.json({"prompt": CONTROL_PROMPT}), "prompt with control characters")
    yield remix(Body.multipart({"prompt": UNICODE_PROMPT}), "unicode prompt as multipart")
    yield remix(Body.multipart({"prompt": ""}), "empty prompt as multipart")
    yield remix(Body.multipart({"prompt": "x" * 32001}), "prompt of 32001 characters as multipart")
    for value, what in ((12345, "number"), (None, "null"), (["x"], "array"), (True, "boolean")):
        yield remix(Body.json({"prompt": value}), f"{what} as the prompt")
    yield remix(Body.json({}), "no prompt")
    yield remix(Body.raw(b'{"prompt": "snow', "application/json"), "malformed JSON")
    yield remix(Body.raw(b'{"prompt": "\xff\xfe"}', "application/json"), "JSON that is not UTF-8")
    yield remix(Body.raw(b"prompt=snowy dawn", "text/plain"), "text/plain body")
    yield remix(
        Body.raw(b'{"prompt": "snowy dawn"}', "text/plain"), "valid JSON labelled text/plain"
    )
    for raw in (b"0", b"[1]", b"null"):
        yield remix(Body.raw(raw, "application/json"), f"JSON body {raw.decode()} (not an object)")
    yield remix(ok, "remix of a video that does not exist", to=unknown)
    yield retrieve("retrieve without a key", auth="none")
    yield retrieve("retrieve with a wrong key", auth="invalid")
    yield create(ok, "create without a key", auth="none")
    hostile = {
        "..": "id `..` (dot-segment)",
        ".": "id `.` (dot-segment)",
        "video_remixcheck%2F..%2Fvideos": "id with encoded slashes (%2F)",
        "video_remixcheck%3Fx%3D1": "id with an encoded `?`",
        "video_remixcheck%23frag": "id with an encoded `#`",
        "video_remixcheck?": "id followed by a raw `?`",
        "video_remixcheck%00": "id with an encoded NUL",
        "%2E%2E": "id `..` percent-encoded",
        path_segment(profile.video_id.make("video_" + "a" * 4000)): "id of 4000 characters",
    }
    for segment, what in hostile.items():
        yield retrieve(f"retrieve with {what}", to=(HOSTILE, segment))
    for segment in ("..", "video_remixcheck%2F..%2Fvideos"):
        yield remix(ok, f"remix with hostile id {segment}", to=(HOSTILE, segment))
    yield create(ok, "create as JSON")
    yield create(Body.multipart({"prompt": PROMPT}), "create as multipart")

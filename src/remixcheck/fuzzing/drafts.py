"""A request before it has ids (`Draft`), what it asks for (`Demand`, `Aim`), and its ids chosen
from the target's: the completed source, an unknown id in the vendor's format, jobs the run
started, hostile ids."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote

from remixcheck.contract import profiles as vendors
from remixcheck.contract.spec import Contract
from remixcheck.fuzzing import createfields
from remixcheck.fuzzing.cases import (
    CREATE_OP,
    GENERATED,
    HOSTILE,
    JOB,
    REMIX_OP,
    RETRIEVE_OP,
    SOURCE,
    UNKNOWN,
    FuzzRequest,
    exposed,
)

COVERAGE, FUZZING, REMIXCHECK = "schemathesis-coverage", "schemathesis-fuzzing", "remixcheck"


UNICODE_PROMPT = "雪の夜明け — café ❄️ 🎬 עברית مرحبا Ω≈ç√"


CONTROL_PROMPT = (
    "tab\there, newline\nthere, cr\r, bell\u0007, escape\u001b[31m, nul\u0000, del\u007f"
)


@dataclass(frozen=True, slots=True)
class Draft:
    origin: str
    operation: str | None  # None: a method the contract does not declare for the path
    method: str
    template: str  # the contract path, e.g. /videos/{video_id}/remix
    body: bytes | None
    content_type: str | None
    auth: str
    description: str
    id_kind: str | None = None  # fixed by the draft; None: chosen when sent
    segment: str | None = None  # the raw path segment of a fixed or generated id
    query: str = ""
    stream: str = ""
    generated_id_only: bool = False  # schemathesis made the id itself invalid: keep it


@dataclass(slots=True)
class Ids:
    source: str | None
    unknown: str
    jobs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Demand:
    """How many more requests the run may send: the fuzzing phase plans its batches by it."""

    left: int


@dataclass(slots=True)
class Aim:
    """What turns drafts into requests for one target: its ids, its paths, the run's seed."""

    name: str
    contract: Contract
    profile: vendors.Profile
    ids: Ids
    rng: random.Random
    garbage_ok: bool  # undeclared methods and hostile POSTs may be sent


def materialize(draft: Draft, aim: Aim, billing_open: bool) -> FuzzRequest | None:
    """The request a draft becomes for this target now; None when it must not be sent."""
    profile, ids, garbage_ok, target = aim.profile, aim.ids, aim.garbage_ok, aim.name
    # Every draft draws the same numbers whether it is sent or not, so one seed gives one run.
    pick, base_pick = aim.rng.random(), aim.rng.random()
    if draft.operation is None and not garbage_ok:
        return None
    if draft.operation == CREATE_OP and profile.create_fields:
        # A gateway refuses a create it cannot route (no `model`): give it the profile's fields.
        draft = replace(
            draft, body=createfields.apply(draft.body, draft.content_type, profile.create_fields)
        )
    base = profile.base_paths[0]
    if profile.compat_base_paths and base_pick < 0.2:
        base = profile.compat_base_paths[0]
    kind, segment = draft.id_kind, draft.segment
    if kind == JOB and segment is None:
        if not ids.jobs:
            return None
        segment = path_segment(ids.jobs[-1])  # the job this run started last
    if "{video_id}" in draft.template and kind is None:
        kind, segment = _choose_id(draft, ids, pick)
    op = aim.contract.operation(draft.operation) if draft.operation else None
    request = _request(draft, target, base, kind, segment)
    if op is not None and exposed(request, op) and not billing_open:
        if draft.operation != REMIX_OP:
            return None
        # The cap is spent: a remix goes to a video that does not exist, where it starts nothing.
        request = _request(draft, target, base, UNKNOWN, path_segment(ids.unknown))
    if request.id_kind == HOSTILE and request.method != "GET" and not garbage_ok:
        return None
    return request


def _choose_id(draft: Draft, ids: Ids, pick: float) -> tuple[str, str]:
    if draft.segment is not None and draft.id_kind is None and draft.origin != REMIXCHECK:
        generated: tuple[str, str] = (GENERATED, draft.segment)
    else:
        generated = (UNKNOWN, path_segment(ids.unknown))
    if draft.generated_id_only:
        return generated
    if draft.operation == RETRIEVE_OP and ids.jobs and pick < 0.25:
        return JOB, path_segment(ids.jobs[int(pick * 4 * len(ids.jobs)) % len(ids.jobs)])
    if draft.operation == RETRIEVE_OP and draft.origin == FUZZING and pick >= 0.5:
        return generated  # the id is the one thing fuzzing varies in a retrieve
    if ids.source is not None and pick < 0.7:
        return SOURCE, path_segment(ids.source)
    if pick < 0.85:
        return UNKNOWN, path_segment(ids.unknown)
    return generated


def _request(
    draft: Draft, target: str, base: str, kind: str | None, segment: str | None
) -> FuzzRequest:
    path = draft.template
    if segment is not None:
        path = path.replace("{video_id}", segment)
    return FuzzRequest(
        operation=draft.operation,
        method=draft.method,
        path=base + path + (f"?{draft.query}" if draft.query else ""),
        base_path=base,
        body=draft.body,
        content_type=draft.content_type,
        auth=draft.auth,
        id_kind=kind,
        video_id=unquote(segment) if segment is not None else None,
        origin=draft.origin,
        description=draft.description,
        target=target,
    )


def path_segment(video_id: str) -> str:
    # Ids go into the path escaped, except the vendor's own separators (Bifrost's colon); an id
    # of dots alone would be a dot-segment, which is a hostile case of its own, not a generated one.
    segment = quote(video_id, safe=":@-._~")
    return segment.replace(".", "%2E") if set(video_id) <= {"."} else segment

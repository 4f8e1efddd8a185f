"""Fuzz a live target from the canonical contract, on a budget. The only module that imports
schemathesis (inside functions, so importing this one stays cheap).

Schemathesis generates the requests: its coverage phase (boundary values, wrong types,
missing and unexpected fields, unsupported content types, missing auth, undeclared
methods) and Hypothesis-driven fuzzing, positive and negative, per operation. remixcheck
adds what the contract cannot know: the target's ids (its completed source video, an id in
the vendor's format that does not exist, jobs the run itself started), hostile ids, and a
short list of remix edge cases sent first, so a small budget still covers them. Requests go
through remixcheck's Transport (key, caps, 429 waits, redaction) and answers are judged by
`fuzzcase.Judge`, the validation core plus what each request calls for.

The budget is counted where requests leave: `--max-requests` is the Transport's hard cap
(retries included; nothing is shrunk, so nothing is re-sent), `--max-billable` bounds the
requests a server accepted as paid jobs: a request that could start one is only sent while
the count is below the cap.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from remixcheck.__about__ import __version__
from remixcheck.conformance import stopping
from remixcheck.conformance.checks import Body
from remixcheck.conformance.checks.context import PROMPT, UNKNOWN_NATIVE_ID
from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import (
    Interrupted,
    OutOfTime,
    Transport,
    TransportError,
    TransportSettings,
    Unreachable,
)
from remixcheck.contract import profiles as vendors
from remixcheck.contract.spec import Contract, Operation
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
    CaseRecord,
    FuzzRequest,
    Judge,
    Tally,
    case_record,
    exposed,
    send,
)
from remixcheck.results.model import CheckResult, Outcome, RunResult, TargetResult, scrub
from remixcheck.validation.validator import Validator

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

Progress = Callable[[str, int, int], None]  # (target, requests sent, request cap)

COVERAGE, FUZZING, REMIXCHECK = "schemathesis-coverage", "schemathesis-fuzzing", "remixcheck"
MAX_TRANSPORT_ERRORS = 3  # in a row: the target stopped answering, so the run stops
MIN_BATCH, MAX_BATCH = 4, 64  # Hypothesis examples per draw
UNICODE_PROMPT = "雪の夜明け — café ❄️ 🎬 עברית مرحبا Ω≈ç√"
CONTROL_PROMPT = (
    "tab\there, newline\nthere, cr\r, bell\u0007, escape\u001b[31m, nul\u0000, del\u007f"
)


@dataclass(slots=True)
class FuzzOptions:
    max_requests: int = 200
    max_time: float | None = None  # seconds for each target
    seed: int = 0
    unsafe: bool = False  # undeclared methods and hostile ids on POST, off loopback too
    strict: bool = False
    keep_cases: int = 50  # failing cases kept per target (each new kind of failure first)
    transport: TransportSettings = field(default_factory=TransportSettings)


@dataclass(slots=True)
class TargetFuzz:
    target: Target
    result: TargetResult
    cases: list[CaseRecord]
    sent: list[FuzzRequest]
    meta: dict[str, Any]


@dataclass(slots=True)
class FuzzRun:
    result: RunResult
    targets: list[TargetFuzz]

    def failing(self) -> bool:
        return self.result.failing()

    def public_dict(self) -> dict[str, Any]:
        """results.json content: fuzz metadata per target, every secret scrubbed."""
        data = self.result.to_dict()
        for target, fuzzed in zip(data["targets"], self.targets, strict=True):
            target["fuzz"] = fuzzed.meta
        secrets = [t.target.api_key for t in self.targets if t.target.api_key]
        return scrub(data, secrets)  # type: ignore[no-any-return]


def run(
    targets: Sequence[Target], options: FuzzOptions, progress: Progress | None = None
) -> FuzzRun:
    """Fuzz each target in turn (Hypothesis runs one test at a time per process)."""
    contract = Contract.load()
    result = RunResult(
        tool_version=__version__,
        spec_version=contract.version,
        spec_sha256=contract.sha256,
        started_at=_now(),
        strict=options.strict,
    )
    fuzzed = [fuzz_target(t, options, progress) for t in targets]
    result.targets = [f.result for f in fuzzed]
    result.finished_at = _now()
    result.interrupted = stopping.stopped()
    return FuzzRun(result, fuzzed)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- drafts: requests before the target's ids and the budget are applied -----------------------


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
    """How many more requests the run may send, and how many streams share them.

    Each Hypothesis draw costs milliseconds per example, so a fuzzing stream draws about
    its share of what is left rather than a fixed batch it would mostly throw away.
    """

    left: int
    streams: int = 1

    def share(self) -> int:
        return min(MAX_BATCH, max(MIN_BATCH, -(-self.left // max(1, self.streams))))


@dataclass(slots=True)
class Aim:
    """What turns drafts into requests for one target: its ids, its paths, the run's seed."""

    name: str
    contract: Contract
    profile: vendors.Profile
    ids: Ids
    rng: random.Random
    garbage_ok: bool  # undeclared methods and hostile POSTs may be sent


def fuzz_target(
    target: Target, options: FuzzOptions, progress: Progress | None = None
) -> TargetFuzz:
    validator = Validator.for_vendor(target.vendor)  # a bundled name or a profile file's path
    profile = validator.profile
    contract = validator.contract
    judge = Judge(validator)
    tally = Tally(strict=options.strict)
    ids = Ids(source=target.video_id, unknown=profile.video_id.make(UNKNOWN_NATIVE_ID))
    garbage_ok = target.loopback or options.unsafe
    aim = Aim(target.name, contract, profile, ids, random.Random(options.seed), garbage_ok)
    cap = target.max_billable
    started = time.monotonic()
    deadline = started + options.max_time if options.max_time else None
    records: list[CaseRecord] = []
    sent_log: list[FuzzRequest] = []
    seen: set[tuple[Any, ...]] = set()
    billable = errors = in_a_row = 0
    blocked_streams: set[str] = set()
    stop = "generation exhausted"
    broken_off: str | None = None
    crashed: list[str] = []  # cases whose judging failed inside the tool, one line each
    with Transport(
        target.base_url, target.api_key, target.api_key_env, options.transport
    ) as transport:
        transport.request_limit = options.max_requests
        transport.deadline = deadline

        def one(request: FuzzRequest) -> FuzzRequest | None:
            """Send and judge one request; returns the follow-up its answer calls for."""
            nonlocal billable
            sent = send(transport, request, profile)
            sent_log.append(request)
            judgement = judge.judge(request, sent)
            if judgement.accepted_billable:
                billable += 1
                answer = sent.json()
                new_id = answer.get("id") if isinstance(answer, dict) else None
                if isinstance(new_id, str) and new_id and new_id not in ids.jobs:
                    ids.jobs.append(new_id)
            if tally.add(judgement, sent) and len(records) < options.keep_cases:
                records.append(
                    case_record(
                        judgement,
                        sent,
                        target=target.name,
                        vendor=target.vendor,
                        base_url=target.base_url,
                        api_key_env=target.api_key_env,
                        seed=options.seed,
                        index=len(sent_log) - 1,
                    )
                )
            if progress is not None:
                progress(target.name, transport.requests_sent, options.max_requests)
            return judgement.follow_up

        demand = Demand(options.max_requests)
        drafts = _drafts(contract, profile, ids, options.seed, blocked_streams, demand)
        while True:
            try:
                # Generation is CPU work inside schemathesis and Hypothesis, out of reach of
                # the checks below: a stop breaks into it (see stopping.interruptible).
                with stopping.interruptible():
                    draft = next(drafts, None)
            except stopping.StopNow:
                draft = None
            if draft is None:
                if transport.at_limit():
                    stop = f"--max-requests {options.max_requests} reached"
                break
            demand.left = options.max_requests - transport.requests_sent
            if stopping.stopped():
                stop = broken_off = stopping.reason()
                break
            if transport.at_limit():
                stop = f"--max-requests {options.max_requests} reached"
                break
            if deadline is not None and time.monotonic() >= deadline:
                stop = f"--max-time {options.max_time:g} s reached"
                break
            billing_open = cap is None or billable < cap
            request = _materialize(draft, aim, billing_open)
            if request is None:
                if not billing_open and draft.operation == CREATE_OP and draft.origin == FUZZING:
                    # Every create with the key could start a job: the stream has nothing left.
                    blocked_streams.add(draft.stream)
                continue
            # Generated cases repeat themselves; a retrieve of a video already read is a poll
            # (status and progress must never go back), and the edge cases repeat on purpose.
            poll = request.method == "GET" and request.id_kind in (SOURCE, JOB)
            if request.signature in seen and draft.origin != REMIXCHECK and not poll:
                continue
            seen.add(request.signature)
            try:
                follow_up = one(request)
                while follow_up is not None and not transport.at_limit():
                    follow_up = one(follow_up)
            except (Interrupted, OutOfTime, Unreachable) as exc:
                stop = broken_off = str(exc)
                break
            except TransportError as exc:
                errors += 1
                in_a_row += 1
                if in_a_row >= MAX_TRANSPORT_ERRORS or transport.at_limit():
                    stop = broken_off = f"the target stopped answering: {exc}"
                    break
                continue
            except Exception as exc:  # the tool's own fault on one case: the others go on
                crashed.append(f"case {request.case_id}: {_one_line(exc)}")
                continue
            in_a_row = 0
        if stopping.stopped():
            stop = broken_off = stopping.reason()
        requests_sent = transport.requests_sent
    duration_ms = (time.monotonic() - started) * 1000
    skipped = {}
    if not garbage_ok:
        skipped["fuzz.unsupported-method"] = (
            "undeclared methods are sent only to loopback targets or with --unsafe"
        )
    if cap == 0:
        skipped["fuzz.positive-data-acceptance"] = (
            "--max-billable 0: no valid remix or create was sent; raise it to include them"
        )
    result = TargetResult(
        name=target.name,
        vendor=profile.id,
        base_url=target.base_url,
        api_key_env=target.api_key_env,
        emulated=target.emulated,
        source_video_id=target.video_id,
        checks=tally.results(
            skipped=skipped,
            duration_ms=duration_ms,
            billable=cap is None or cap > 0,
            broken_off=broken_off,
        ),
        requests_sent=requests_sent,
        billable_sent=billable,
        max_billable=cap,
        duration_ms=duration_ms,
    )
    if crashed:
        result.checks.append(
            CheckResult(
                check="fuzz.judging",
                family="fuzz",
                title="Every fuzz case could be judged",
                outcome=Outcome.ERROR,
                reason=f"internal error in {len(crashed)} case(s), the first: {crashed[0]}",
            )
        )
    meta = {
        "seed": options.seed,
        "max_requests": options.max_requests,
        "max_billable": cap,
        "max_time": options.max_time,
        "unsafe": options.unsafe,
        "requests_sent": requests_sent,
        "billable_sent": billable,
        "cases_sent": len(sent_log),
        "transport_errors": errors,
        "stop_reason": stop,
        "failing_cases": [r.id for r in records],
    }
    return TargetFuzz(target, result, records, sent_log, meta)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300]}" if text else type(exc).__name__


def _materialize(draft: Draft, aim: Aim, billing_open: bool) -> FuzzRequest | None:
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
        segment = _segment(ids.jobs[-1])  # the job this run started last
    if "{video_id}" in draft.template and kind is None:
        kind, segment = _choose_id(draft, ids, pick)
    op = aim.contract.operation(draft.operation) if draft.operation else None
    request = _request(draft, target, base, kind, segment)
    if op is not None and exposed(request, op) and not billing_open:
        if draft.operation != REMIX_OP:
            return None
        # The cap is spent: a remix goes to a video that does not exist, where it starts nothing.
        request = _request(draft, target, base, UNKNOWN, _segment(ids.unknown))
    if request.id_kind == HOSTILE and request.method != "GET" and not garbage_ok:
        return None
    return request


def _choose_id(draft: Draft, ids: Ids, pick: float) -> tuple[str, str]:
    if draft.segment is not None and draft.id_kind is None and draft.origin != REMIXCHECK:
        generated: tuple[str, str] = (GENERATED, draft.segment)
    else:
        generated = (UNKNOWN, _segment(ids.unknown))
    if draft.generated_id_only:
        return generated
    if draft.operation == RETRIEVE_OP and ids.jobs and pick < 0.25:
        return JOB, _segment(ids.jobs[int(pick * 4 * len(ids.jobs)) % len(ids.jobs)])
    if draft.operation == RETRIEVE_OP and draft.origin == FUZZING and pick >= 0.5:
        return generated  # the id is the one thing fuzzing varies in a retrieve
    if ids.source is not None and pick < 0.7:
        return SOURCE, _segment(ids.source)
    if pick < 0.85:
        return UNKNOWN, _segment(ids.unknown)
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


def _segment(video_id: str) -> str:
    # Ids go into the path escaped, except the vendor's own separators (Bifrost's colon); an id
    # of dots alone would be a dot-segment, which is a hostile case of its own, not a generated one.
    segment = quote(video_id, safe=":@-._~")
    return segment.replace(".", "%2E") if set(video_id) <= {"."} else segment


# -- where drafts come from ------------------------------------------------------------------


def _drafts(
    contract: Contract,
    profile: vendors.Profile,
    ids: Ids,
    seed: int,
    blocked: set[str],
    demand: Demand,
) -> Iterator[Draft]:
    """Remix edge cases, then schemathesis's coverage phase, then its fuzzing, as `st run`
    orders its phases; within a phase the operations take turns, remix first."""
    yield from _edge_cases(profile, ids)
    coverage, fuzzing = _schemathesis_streams(contract, seed, demand)
    for streams in (coverage, fuzzing):
        while streams:
            demand.streams = len(streams)
            for name in list(streams):
                if name in blocked:
                    del streams[name]
                    continue
                draft = next(streams[name], None)
                if draft is None:
                    del streams[name]
                else:
                    yield draft


REMIX, VIDEO, VIDEOS = "/videos/{video_id}/remix", "/videos/{video_id}", "/videos"


def _edge_cases(profile: vendors.Profile, ids: Ids) -> Iterator[Draft]:
    """Remix-aware cases the contract alone cannot produce, or that a small budget must not miss."""
    Id = tuple[str, str | None]  # (id kind, raw path segment; None: the job started last)
    source: Id = (SOURCE, _segment(ids.source)) if ids.source else (UNKNOWN, _segment(ids.unknown))
    unknown: Id = (UNKNOWN, _segment(ids.unknown))

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
    yield remix(Body.raw(b'{"prompt": "snowy dawn"}', "text/plain"), "valid JSON labelled text/plain")
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
        _segment(profile.video_id.make("video_" + "a" * 4000)): "id of 4000 characters",
    }
    for segment, what in hostile.items():
        yield retrieve(f"retrieve with {what}", to=(HOSTILE, segment))
    for segment in ("..", "video_remixcheck%2F..%2Fvideos"):
        yield remix(ok, f"remix with hostile id {segment}", to=(HOSTILE, segment))
    yield create(ok, "create as JSON")
    yield create(Body.multipart({"prompt": PROMPT}), "create as multipart")


def _schemathesis_streams(
    contract: Contract, seed: int, demand: Demand
) -> tuple[dict[str, Iterator[Draft]], dict[str, Iterator[Draft]]]:
    """Coverage streams and fuzzing streams, one per operation (and mode); lazily generated."""
    from schemathesis.generation import GenerationMode

    schema = _schema(contract)
    operations = []
    for result in schema.get_all_operations():
        st_op = result.ok()  # the bundled contract loads without errors (tests hold it to that)
        operations.append((st_op, _contract_operation(contract, st_op.method, st_op.path)))
    order = {REMIX_OP: 0, RETRIEVE_OP: 1, CREATE_OP: 2}
    operations.sort(key=lambda pair: order.get(pair[1].operation_id, 9))
    coverage = {f"{op.operation_id}:coverage": _coverage(st_op, op) for st_op, op in operations}
    fuzzing = {
        f"{op.operation_id}:{mode.value}": _fuzzing(
            st_op, op, mode, seed, f"{op.operation_id}:{mode.value}", demand
        )
        for st_op, op in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    }
    return coverage, fuzzing


def _schema(contract: Contract) -> Any:
    """A schemathesis schema of the contract, loaded afresh for every target.

    A schema object keeps state from the cases it generated (its coverage phase answers
    differently the second time), so reusing one would give one seed two runs. The
    document is copied because from_dict rewrites keys in place; an explicit default Config
    keeps a schemathesis.toml in the working directory from steering a run.
    """
    import schemathesis

    return schemathesis.openapi.from_dict(
        copy.deepcopy(dict(contract.document)), config=schemathesis.Config()
    )


def _contract_operation(contract: Contract, method: str, path: str) -> Operation:
    for op in contract.operations:
        if op.method == method.upper() and op.path_template == path:
            return op
    raise LookupError(f"schemathesis operation {method} {path} is not in the contract")


def _coverage(st_op: Any, op: Operation) -> Iterator[Draft]:
    from schemathesis.generation import GenerationMode
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.generation.overrides import Override

    generator = CoverageGenerator(
        operation=st_op,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=st_op.schema.config.generation_for(operation=st_op, phase="coverage"),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    for n, case in enumerate(generator):
        draft = _from_case(case, op, COVERAGE, f"{op.operation_id}:coverage", n)
        if draft is not None:
            yield draft


def _fuzzing(
    st_op: Any, op: Operation, mode: Any, seed: int, stream: str, demand: Demand
) -> Iterator[Draft]:
    strategy = st_op.as_strategy(generation_mode=mode)
    batch, n = 0, 0
    while True:
        cases = _draw(strategy, demand.share(), _derive_seed(seed, f"{stream}:{batch}"))
        if not cases:
            return
        for case in cases:
            draft = _from_case(case, op, FUZZING, stream, n)
            n += 1
            if draft is not None:
                yield draft
        batch += 1


def _derive_seed(seed: int, label: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}:{label}".encode(), digest_size=8).digest(), "big"
    )


def _draw(strategy: SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """`count` examples of a strategy, the same ones for the same seed; nothing is shrunk."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable

    out: list[Any] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @hypothesis.given(strategy)
    def collect(case: Any) -> None:
        if stopping.stopped():
            raise _Stopped  # ends the draw now; Hypothesis re-raises it (nothing to shrink)
        out.append(case)

    # The examples drawn so far stand; the stream ends when a draw yields nothing.
    try:
        collect()
    except (Unsatisfiable, FailedHealthCheck):
        pass
    except stopping.StopNow:
        raise
    except BaseException:
        if not stopping.stopped():
            raise
        return []
    return out


class _Stopped(Exception):
    """Raised inside a Hypothesis draw when a stop was requested."""


def _from_case(case: Any, op: Operation, origin: str, stream: str, n: int) -> Draft | None:
    """A schemathesis case as the bytes schemathesis would send, turned into a draft."""
    import requests
    from schemathesis.core.parameters import ParameterLocation

    kwargs = case.as_transport_kwargs(base_url="http://remixcheck.invalid")
    try:
        prepared = requests.Request(
            method=case.method,
            url=kwargs["url"],
            headers=kwargs.get("headers"),
            data=kwargs.get("data"),
            json=kwargs.get("json"),
            files=kwargs.get("files"),
        ).prepare()
    except (ValueError, requests.RequestException):
        return None  # not sendable as HTTP at all (a NaN in JSON, say): nothing to judge
    body = _as_bytes(prepared.body)
    ctype = _as_text(prepared.headers.get("Content-Type"))
    if body and ctype and "boundary=" in ctype:
        # A random multipart boundary would make the same seed send different bytes.
        old = ctype.split("boundary=", 1)[1].split(";", 1)[0].strip('"')
        new = f"remixcheck{hashlib.sha256(f'{stream}:{n}'.encode()).hexdigest()[:24]}"
        body = body.replace(old.encode(), new.encode())
        ctype = ctype.replace(old, new)
    auth = "valid" if "Authorization" in prepared.headers else "none"
    negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    declared = case.method.upper() == op.method
    if not declared and case.method.upper() in op.upstream_methods:
        # OpenAI's document declares it (the list, delete): out of scope, not undeclared.
        return None
    video_id = case.path_parameters.get("video_id") if "{video_id}" in op.path_template else None
    meta = case.meta
    description = _describe(meta, case.method)
    return Draft(
        origin=origin,
        operation=op.operation_id if declared else None,
        method=case.method.upper(),
        template=op.path_template,
        body=body or None,
        content_type=ctype,
        auth=auth,
        description=description,
        id_kind=None,
        segment=_segment(str(video_id)) if video_id is not None else None,
        query=urlsplit(_as_text(prepared.url) or "").query,
        stream=stream,
        generated_id_only=negative_path,
    )


def _as_bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"unexpected prepared body {type(value).__name__}")


def _as_text(value: Any) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _describe(meta: Any, method: str) -> str:
    if meta is None:
        return "schemathesis case"
    data = meta.phase.data
    text = getattr(data, "description", None) or ""
    mode = meta.generation.mode.value
    where = getattr(data, "parameter_location", None)
    parameter = getattr(data, "parameter", None)
    detail = f" ({where.value} {parameter})" if where is not None and parameter else ""
    return f"{mode}{detail}: {text}" if text else f"{mode} {method} case"

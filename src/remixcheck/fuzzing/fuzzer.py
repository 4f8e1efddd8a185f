"""Fuzz a live target from the canonical contract, on a budget. The only module that imports
schemathesis (inside functions, so importing this one stays cheap).

Schemathesis generates the requests: its coverage phase (boundary values, wrong types,
missing and unexpected fields, unsupported content types, missing auth, undeclared
methods) and Hypothesis-driven fuzzing, positive and negative, per operation. remixcheck
adds what the contract cannot know: the target's ids (its completed source video, an id in
the vendor's format that does not exist, jobs the run itself started), hostile ids, and a
short list of remix edge cases sent first, so a small budget still covers them. Requests go
through remixcheck's Transport (key, caps, 429 waits, redaction) and answers are judged by
`judge.Judge`, the validation core plus what each request calls for.

The budget is counted where requests leave: `--max-requests` is the Transport's hard cap
(retries included; nothing is shrunk, so nothing is re-sent), `--max-billable` bounds the
requests a server accepted as paid jobs: a request that could start one is only sent while
the count is below the cap."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from remixcheck.__about__ import __version__
from remixcheck.conformance import stopping
from remixcheck.conformance.checks.context import UNKNOWN_NATIVE_ID
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
from remixcheck.contract.spec import Contract
from remixcheck.fuzzing.cases import (
    CREATE_OP,
    JOB,
    SOURCE,
    FuzzRequest,
)
from remixcheck.fuzzing.drafts import FUZZING, REMIXCHECK, Aim, Demand, Draft, Ids, materialize
from remixcheck.fuzzing.edge_cases import edge_cases
from remixcheck.fuzzing.generation import schemathesis_streams
from remixcheck.fuzzing.judge import Judge
from remixcheck.fuzzing.records import CaseRecord, case_record
from remixcheck.fuzzing.replay import send
from remixcheck.fuzzing.tally import Tally
from remixcheck.results.model import CheckResult, Outcome, RunResult, TargetResult, scrub
from remixcheck.validation.validator import Validator

Progress = Callable[[str, int, int], None]  # (target, requests sent, request cap)


MAX_TRANSPORT_ERRORS = 3  # in a row: the target stopped answering, so the run stops


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


def fuzz_target(
    target: Target, options: FuzzOptions, progress: Progress | None = None
) -> TargetFuzz:
    validator = Validator.for_vendor(target.vendor)  # a bundled name or a profile file's path
    profile = validator.profile
    ids = Ids(source=target.video_id, unknown=profile.video_id.make(UNKNOWN_NATIVE_ID))
    garbage_ok = target.loopback or options.unsafe
    aim = Aim(
        target.name, validator.contract, profile, ids, random.Random(options.seed), garbage_ok
    )
    started = time.monotonic()
    with Transport(
        target.base_url, target.api_key, target.api_key_env, options.transport
    ) as transport:
        transport.request_limit = options.max_requests
        transport.deadline = started + options.max_time if options.max_time else None
        session = _Session(target, options, progress, transport, Judge(validator), ids)
        session.loop(aim)
        requests_sent = transport.requests_sent
    duration_ms = (time.monotonic() - started) * 1000
    result = session.target_result(profile.id, duration_ms, requests_sent, garbage_ok)
    meta = {
        "seed": options.seed,
        "max_requests": options.max_requests,
        "max_billable": target.max_billable,
        "max_time": options.max_time,
        "unsafe": options.unsafe,
        "requests_sent": requests_sent,
        "billable_sent": session.billable,
        "cases_sent": len(session.sent_log),
        "transport_errors": session.errors,
        "stop_reason": session.stop,
        "failing_cases": [r.id for r in session.records],
    }
    return TargetFuzz(target, result, session.records, session.sent_log, meta)


@dataclass
class _Session:
    """One target's fuzzing: drafts drawn, sent, judged and tallied until something stops it."""

    target: Target
    options: FuzzOptions
    progress: Progress | None
    transport: Transport
    judge: Judge
    ids: Ids
    tally: Tally = field(init=False)
    records: list[CaseRecord] = field(default_factory=list)
    sent_log: list[FuzzRequest] = field(default_factory=list)
    billable: int = 0
    errors: int = 0
    stop: str = "generation exhausted"
    broken_off: str | None = None
    crashed: list[str] = field(default_factory=list)  # cases whose judging failed, one line each

    def __post_init__(self) -> None:
        self.tally = Tally(strict=self.options.strict)

    def one(self, request: FuzzRequest) -> FuzzRequest | None:
        """Send and judge one request; returns the follow-up its answer calls for."""
        target, options = self.target, self.options
        sent = send(self.transport, request, self.judge.profile)
        self.sent_log.append(request)
        judgement = self.judge.judge(request, sent)
        if judgement.accepted_billable:
            self.billable += 1
            answer = sent.json()
            new_id = answer.get("id") if isinstance(answer, dict) else None
            if isinstance(new_id, str) and new_id and new_id not in self.ids.jobs:
                self.ids.jobs.append(new_id)
        if self.tally.add(judgement, sent) and len(self.records) < options.keep_cases:
            self.records.append(
                case_record(
                    judgement,
                    sent,
                    target=target.name,
                    vendor=target.vendor,
                    base_url=target.base_url,
                    api_key_env=target.api_key_env,
                    seed=options.seed,
                    index=len(self.sent_log) - 1,
                )
            )
        if self.progress is not None:
            self.progress(target.name, self.transport.requests_sent, options.max_requests)
        return judgement.follow_up

    def _limit_reached(self) -> str | None:
        """Why no further request may go out, or None."""
        options = self.options
        if stopping.stopped():
            self.broken_off = stopping.reason()
            return self.broken_off
        if self.transport.at_limit():
            return f"--max-requests {options.max_requests} reached"
        deadline = self.transport.deadline
        if deadline is not None and time.monotonic() >= deadline:
            return f"--max-time {options.max_time:g} s reached"
        return None

    def loop(self, aim: Aim) -> None:
        options, transport, cap = self.options, self.transport, self.target.max_billable
        seen: set[tuple[Any, ...]] = set()
        blocked_streams: set[str] = set()
        in_a_row = 0
        demand = Demand(options.max_requests)
        drafts = _drafts(aim.contract, aim.profile, self.ids, options.seed, blocked_streams, demand)
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
                    self.stop = f"--max-requests {options.max_requests} reached"
                break
            demand.left = options.max_requests - transport.requests_sent
            if (reached := self._limit_reached()) is not None:
                self.stop = reached
                break
            billing_open = cap is None or self.billable < cap
            request = materialize(draft, aim, billing_open)
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
                follow_up = self.one(request)
                while follow_up is not None and not transport.at_limit():
                    follow_up = self.one(follow_up)
            except (Interrupted, OutOfTime, Unreachable) as exc:
                self.stop = self.broken_off = str(exc)
                break
            except TransportError as exc:
                self.errors += 1
                in_a_row += 1
                if in_a_row >= MAX_TRANSPORT_ERRORS or transport.at_limit():
                    self.stop = self.broken_off = f"the target stopped answering: {exc}"
                    break
                continue
            except Exception as exc:  # the tool's own fault on one case: the others go on
                self.crashed.append(f"case {request.case_id}: {_one_line(exc)}")
                continue
            in_a_row = 0
        if stopping.stopped():
            self.stop = self.broken_off = stopping.reason()

    def target_result(
        self, vendor: str, duration_ms: float, requests_sent: int, garbage_ok: bool
    ) -> TargetResult:
        target, cap = self.target, self.target.max_billable
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
            vendor=vendor,
            base_url=target.base_url,
            api_key_env=target.api_key_env,
            emulated=target.emulated,
            source_video_id=target.video_id,
            checks=self.tally.results(
                skipped=skipped,
                duration_ms=duration_ms,
                billable=cap is None or cap > 0,
                broken_off=self.broken_off,
            ),
            requests_sent=requests_sent,
            billable_sent=self.billable,
            max_billable=cap,
            duration_ms=duration_ms,
        )
        if self.crashed:
            result.checks.append(
                CheckResult(
                    check="fuzz.judging",
                    family="fuzz",
                    title="Every fuzz case could be judged",
                    outcome=Outcome.ERROR,
                    reason=f"internal error in {len(self.crashed)} case(s), the first: {self.crashed[0]}",
                )
            )
        return result


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300]}" if text else type(exc).__name__


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
    yield from edge_cases(profile, ids)
    coverage, fuzzing = schemathesis_streams(contract, seed, demand)
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

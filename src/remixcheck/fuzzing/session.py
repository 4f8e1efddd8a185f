"""One target's fuzzing: drafts drawn, sent, judged and tallied until something stops it.

Drafts are drawn and turned into requests on the calling thread (Hypothesis runs there);
each request and its follow-ups are sent by `deliver`, inline or on a worker's transport
(`workers.Pool`). Judging, the tally and the ids the run learns are shared: they change
under one lock, and the requests of one job or of the source video are sent by one worker
in the order they were drawn, so the status a poll sees never runs ahead of an earlier one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remixcheck.conformance import stopping
from remixcheck.conformance.request_cap import RequestCap
from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import (
    CapReached,
    Interrupted,
    OutOfTime,
    Transport,
    TransportError,
    Unreachable,
)
from remixcheck.fuzzing.cases import CREATE_OP, JOB, SOURCE, FuzzRequest, exposed
from remixcheck.fuzzing.drafts import FUZZING, REMIXCHECK, Aim, Demand, Draft, Ids, materialize
from remixcheck.fuzzing.judge import Judge
from remixcheck.fuzzing.phases import drafts as drafts_of
from remixcheck.fuzzing.records import CaseRecord, case_record
from remixcheck.fuzzing.replay import send
from remixcheck.fuzzing.tally import Tally

if TYPE_CHECKING:
    from remixcheck.fuzzing.fuzzer import FuzzOptions
    from remixcheck.fuzzing.workers import Pool

Progress = Callable[[str, int, int], None]  # (target, requests sent, request cap)

MAX_TRANSPORT_ERRORS = 3  # in a row: the target stopped answering, so the run stops


@dataclass
class Session:
    target: Target
    options: FuzzOptions
    progress: Progress | None
    cap: RequestCap
    deadline: float | None
    judge: Judge
    ids: Ids
    tally: Tally = field(init=False)
    records: list[CaseRecord] = field(default_factory=list)
    sent_log: list[FuzzRequest] = field(default_factory=list)
    billable: int = 0
    pending_billable: int = 0  # requests handed to workers that could still start a job
    errors: int = 0
    in_a_row: int = 0
    stop: str = "generation exhausted"
    broken_off: str | None = None
    halted: bool = False  # a worker stopped the run
    crashed: list[str] = field(default_factory=list)  # cases whose judging failed, one line each
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tally = Tally(strict=self.options.strict)

    def one(self, request: FuzzRequest, transport: Transport) -> FuzzRequest | None:
        """Send and judge one request; returns the follow-up its answer calls for."""
        sent = send(transport, request, self.judge.profile)
        with self.lock:
            return self._judged(request, sent)

    def _judged(self, request: FuzzRequest, sent: Any) -> FuzzRequest | None:
        target, options = self.target, self.options
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
            self.progress(target.name, self.cap.taken, options.max_requests)
        return judgement.follow_up

    def deliver(self, request: FuzzRequest, transport: Transport) -> None:
        """Send a request and the follow-ups its answers call for, on one transport, in order."""
        try:
            follow_up = self.one(request, transport)
            while follow_up is not None and not transport.at_limit():
                follow_up = self.one(follow_up, transport)
        except CapReached:
            # Another worker sent the last request allowed: the budget is spent, nothing failed.
            self.halt(f"--max-requests {self.options.max_requests} reached", broken_off=False)
            return
        except (Interrupted, OutOfTime, Unreachable) as exc:
            self.halt(str(exc))
            return
        except TransportError as exc:
            with self.lock:
                self.errors += 1
                self.in_a_row += 1
                stop = self.in_a_row >= MAX_TRANSPORT_ERRORS or transport.at_limit()
            if stop:
                self.halt(f"the target stopped answering: {exc}")
            return
        except Exception as exc:  # the tool's own fault on one case: the others go on
            with self.lock:
                self.crashed.append(f"case {request.case_id}: {_one_line(exc)}")
            return
        with self.lock:
            self.in_a_row = 0

    def halt(self, reason: str, *, broken_off: bool = True) -> None:
        with self.lock:
            if not self.halted:
                self.halted = True
                self.stop = reason
                if broken_off:
                    self.broken_off = reason

    def _limit_reached(self) -> str | None:
        """Why no further request may go out, or None."""
        options = self.options
        if stopping.stopped():
            self.broken_off = stopping.reason()
            return self.broken_off
        if self.cap.spent():
            return f"--max-requests {options.max_requests} reached"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"--max-time {options.max_time:g} s reached"
        return None

    def loop(self, aim: Aim, pool: Pool) -> None:
        options = self.options
        blocked_streams: set[str] = set()
        demand = Demand(options.max_requests)
        drafts = drafts_of(
            aim.contract,
            aim.profile,
            self.ids,
            options.seed,
            blocked_streams,
            demand,
            options.phases,
            options.cache_dir,
            options.jobs,
        )
        try:
            self._send_all(drafts, aim, pool, demand, blocked_streams)
        finally:
            drafts.close()  # ends the fuzzing phase's worker processes now
        pool.drain()
        if stopping.stopped():
            self.stop = self.broken_off = stopping.reason()

    def _send_all(
        self,
        drafts: Iterator[Draft],
        aim: Aim,
        pool: Pool,
        demand: Demand,
        blocked_streams: set[str],
    ) -> None:
        options = self.options
        seen: set[tuple[Any, ...]] = set()
        while not self.halted:
            try:
                # Generation is CPU work inside schemathesis and Hypothesis, out of reach of
                # the checks below: a stop breaks into it (see stopping.interruptible).
                with stopping.interruptible():
                    draft = next(drafts, None)
            except stopping.StopNow:
                draft = None
            if draft is None:
                pool.drain()
                if self.cap.spent() and not self.halted:
                    self.stop = f"--max-requests {options.max_requests} reached"
                break
            demand.left = options.max_requests - self.cap.taken
            if (reached := self._limit_reached()) is not None:
                self.stop = reached
                break
            request = self._request(draft, aim, pool, blocked_streams)
            if request is None:
                continue
            # Generated cases repeat themselves; a retrieve of a video already read is a poll
            # (status and progress must never go back), and the edge cases repeat on purpose.
            poll = request.method == "GET" and request.id_kind in (SOURCE, JOB)
            if request.signature in seen and draft.origin != REMIXCHECK and not poll:
                continue
            seen.add(request.signature)
            pool.submit(request, self._could_bill(aim, request))

    def _request(
        self, draft: Draft, aim: Aim, pool: Pool, blocked_streams: set[str]
    ) -> FuzzRequest | None:
        if draft.id_kind == JOB and draft.segment is None:
            pool.drain()  # it goes to the job started last: every answer so far must be in
        cap = self.target.max_billable
        with self.lock:
            billing_open = cap is None or self.billable + self.pending_billable < cap
            request = materialize(draft, aim, billing_open)
        creates = draft.operation == CREATE_OP and draft.origin == FUZZING
        if request is None and not billing_open and creates:
            # Every create with the key could start a job: the stream has nothing left.
            blocked_streams.add(draft.stream)
        return request

    def _could_bill(self, aim: Aim, request: FuzzRequest) -> bool:
        op = aim.contract.operation(request.operation) if request.operation else None
        return op is not None and exposed(request, op)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300]}" if text else type(exc).__name__

"""Fuzz a live target from the canonical contract, on a budget. Only generation.py imports
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
(retries included; nothing is shrunk, so nothing is re-sent), shared by the transports of
`--workers N`; `--max-billable` bounds the requests a server accepted as paid jobs: a
request that could start one is only sent while the jobs accepted plus those such requests
in flight are below the cap. session.py runs the loop, workers.py sends, phases.py says
what is generated."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from remixcheck.__about__ import __version__
from remixcheck.conformance import stopping
from remixcheck.conformance.checks.context import UNKNOWN_NATIVE_ID
from remixcheck.conformance.request_cap import RequestCap
from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import Transport, TransportSettings
from remixcheck.contract.spec import Contract
from remixcheck.fuzzing.cases import FuzzRequest
from remixcheck.fuzzing.drafts import Aim, Ids
from remixcheck.fuzzing.judge import Judge
from remixcheck.fuzzing.phases import DEFAULT_PHASES
from remixcheck.fuzzing.records import CaseRecord
from remixcheck.fuzzing.session import Progress, Session
from remixcheck.fuzzing.workers import Pool
from remixcheck.results.model import CheckResult, Outcome, RunResult, TargetResult, scrub
from remixcheck.validation.validator import Validator

__all__ = ["FuzzOptions", "FuzzRun", "Progress", "TargetFuzz", "fuzz_target", "run"]


@dataclass(slots=True)
class FuzzOptions:
    max_requests: int = 200
    max_time: float | None = None  # seconds for each target
    seed: int = 0
    unsafe: bool = False  # undeclared methods and hostile ids on POST, off loopback too
    strict: bool = False
    phases: tuple[str, ...] = DEFAULT_PHASES  # see fuzzing.phases
    # Threads sending at once, each on its own connection; the request cap is shared.
    # 1 keeps a seed's run exactly reproducible (with more, the jobs' ids arrive in any order).
    workers: int = 1
    # Processes drawing the fuzzing phase's cases (see batches); 1: this one. Any number
    # sends the same requests.
    jobs: int = 1
    cache_dir: Path | None = None  # where the coverage phase is kept once generated; None: nowhere
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
    cap = RequestCap(options.max_requests)
    deadline = started + options.max_time if options.max_time else None
    session = Session(target, options, progress, cap, deadline, Judge(validator), ids)
    with contextlib.ExitStack() as stack:
        transports: list[Transport] = []
        for _ in range(options.workers):
            transport = stack.enter_context(
                Transport(target.base_url, target.api_key, target.api_key_env, options.transport)
            )
            transport.shared_cap, transport.deadline = cap, deadline
            if transports:  # one pace and one 429 wait budget for all the workers
                transport.pacer = transports[0].pacer
                transport.wait_budget = transports[0].wait_budget
            transports.append(transport)
        pool = Pool(session, transports)
        stack.callback(pool.close)
        session.loop(aim, pool)
    requests_sent = cap.taken
    duration_ms = (time.monotonic() - started) * 1000
    result = _target_result(session, profile.id, duration_ms, requests_sent, garbage_ok)
    meta = {
        "seed": options.seed,
        "max_requests": options.max_requests,
        "max_billable": target.max_billable,
        "max_time": options.max_time,
        "unsafe": options.unsafe,
        "phases": list(options.phases),
        "workers": options.workers,
        "jobs": options.jobs,
        "requests_sent": requests_sent,
        "billable_sent": session.billable,
        "cases_sent": len(session.sent_log),
        "transport_errors": session.errors,
        "stop_reason": session.stop,
        "failing_cases": [r.id for r in session.records],
    }
    return TargetFuzz(target, result, session.records, session.sent_log, meta)


def _target_result(
    self: Session, vendor: str, duration_ms: float, requests_sent: int, garbage_ok: bool
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

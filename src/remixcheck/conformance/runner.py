"""Run the conformance catalogue against targets; one thread and one HTTP client per target."""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from remixcheck.__about__ import __version__
from remixcheck.conformance import stopping
from remixcheck.conformance.checks import FREE, Check, catalogue, with_prerequisites
from remixcheck.conformance.checks.context import (
    UNKNOWN_NATIVE_ID,
    Budget,
    Context,
    ErrorCheck,
    PreconditionCheck,
    Settings,
    SkipCheck,
)
from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import (
    Interrupted,
    Transport,
    TransportError,
    TransportSettings,
)
from remixcheck.contract import profiles as vendors
from remixcheck.contract.spec import Contract
from remixcheck.errors import UsageError
from remixcheck.results.model import CheckResult, Outcome, RunResult, TargetResult, scrub
from remixcheck.validation.validator import Validator

Progress = Callable[[str, CheckResult], None]


@dataclass(slots=True)
class RunOptions:
    checks: tuple[str, ...] = ()  # shell-style patterns of check ids; empty: all
    transport: TransportSettings = field(default_factory=TransportSettings)
    context: Settings = field(default_factory=Settings)
    strict: bool = False
    max_time: float | None = None  # seconds for each target, enforced mid-request; None: none
    client_impact: bool = True  # judge the observed Video bodies with client libraries


def select(patterns: Sequence[str]) -> list[Check]:
    checks = catalogue()
    if not patterns:
        return checks
    chosen = [c for c in checks if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    if not chosen:
        raise UsageError(f"--checks {','.join(patterns)} matches no check; see `remixcheck checks`")
    return chosen


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    target: str
    check: str
    method: str
    path: str
    content_type: str | None
    auth: str
    billing: str
    repeat: str
    note: str
    skipped: str  # why the check will not run here, or ""


def plan(targets: Sequence[Target], options: RunOptions) -> list[PlannedRequest]:
    """Every request a run would send, in order, without sending anything."""
    out = []
    for target in targets:
        profile = vendors.load(target.vendor)
        budget = Budget(target.max_billable)
        source = target.video_id or "{source}"
        for check in with_prerequisites(select(options.checks)):
            reason = check.applies(profile) or ""
            for spec in check.requests:
                if spec.path == "/videos" and spec.method == "POST" and target.video_id:
                    continue  # a given --video-id replaces creating a source video
                base = (
                    profile.compat_base_paths[0]
                    if spec.compat and profile.compat_base_paths
                    else profile.base_paths[0]
                )
                path = base + spec.path.replace("{source}", source).replace(
                    "{unknown}", profile.video_id.make(UNKNOWN_NATIVE_ID)
                )
                why = reason
                if not why and not budget.try_spend(spec.billing):
                    why = f"over --max-billable {target.max_billable}"
                out.append(
                    PlannedRequest(
                        target.name,
                        check.id,
                        spec.method,
                        path,
                        spec.body.content_type if spec.body else None,
                        spec.auth,
                        spec.billing,
                        spec.repeat,
                        spec.note,
                        why,
                    )
                )
    return out


def run_target(
    target: Target,
    options: RunOptions,
    progress: Progress | None = None,
    *,
    budget: Budget | None = None,
) -> TargetResult:
    profile = vendors.load(target.vendor)
    validator = Validator.for_vendor(target.vendor)  # compiled once per profile, name or path
    result = TargetResult(
        name=target.name,
        vendor=profile.id,
        base_url=target.base_url,
        api_key_env=target.api_key_env,
        emulated=target.emulated,
        max_billable=target.max_billable,
    )
    started = time.monotonic()
    try:
        with Transport(
            target.base_url, target.api_key, target.api_key_env, options.transport
        ) as transport:
            if options.max_time is not None:
                transport.deadline = started + options.max_time
            ctx = Context(
                profile=profile,
                validator=validator,
                transport=transport,
                budget=budget if budget is not None else Budget(target.max_billable),
                settings=options.context,
                source_id=target.video_id,
            )
            for check in with_prerequisites(select(options.checks)):
                outcome = _run_check(ctx, check)
                result.checks.append(outcome)
                if progress is not None:
                    progress(target.name, outcome)
            result.source_video_id = ctx.source_id or target.video_id
            result.requests_sent = transport.requests_sent
            result.billable_sent = ctx.budget.sent
            result.observed_videos = ctx.observed_videos
            result.key_refused = ctx.key_refused
    except Exception as exc:  # the tool's own fault: this target ends in error, others go on
        result.checks.append(
            CheckResult(
                check="target",
                family="target",
                title="The target could be run",
                outcome=Outcome.ERROR,
                reason=f"internal error: {one_line(exc)}",
            )
        )
    if options.client_impact:
        assess_clients([result], [target.api_key] if target.api_key else [])
    result.duration_ms = (time.monotonic() - started) * 1000
    return result


def assess_clients(targets: Sequence[TargetResult], secrets: Sequence[str]) -> None:
    """Give each target its client-impact entry; the client stacks run once for all of them."""
    from remixcheck.clients import impact

    # Clients quote bodies in their errors, cut where they please (pydantic elides the middle
    # of a long value): scrubbed afterwards, a cut key would no longer match, so scrub first.
    entries = impact.assess([scrub(t.observed_videos, secrets) for t in targets])
    for target, entry in zip(targets, entries, strict=True):
        target.client_impact = entry


def _run_check(ctx: Context, check: Check) -> CheckResult:
    """Run one check; whatever happens inside ends this check only, with one line."""
    started = time.monotonic()
    reason = check.applies(ctx.profile)
    if reason:
        result = _ended(check, Outcome.SKIPPED, reason)
    else:
        try:
            if stopping.stopped():
                raise Interrupted(stopping.reason())
            ctx.transport.check_open()
            ctx.check_key(check)
            result = check.run(ctx, check)
        except SkipCheck as exc:
            result = _ended(check, Outcome.SKIPPED, str(exc))
        except PreconditionCheck as exc:
            result = _ended(check, Outcome.PRECONDITION, str(exc))
        except (TransportError, ErrorCheck) as exc:
            result = _ended(check, Outcome.ERROR, str(exc))
        except Exception as exc:
            result = _ended(check, Outcome.ERROR, f"internal error: {one_line(exc)}")
    result.duration_ms = (time.monotonic() - started) * 1000
    if result.origin is None:
        result.origin, result.origin_why = check.origin, check.why or None
    return result


def one_line(exc: BaseException) -> str:
    """An unexpected exception as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ended(check: Check, outcome: Outcome, reason: str) -> CheckResult:
    return CheckResult(
        check=check.id,
        family=check.family,
        title=check.title,
        outcome=outcome,
        reason=reason,
        billable=check.billing != FREE,
    )


def run(
    targets: Sequence[Target], options: RunOptions, progress: Progress | None = None
) -> RunResult:
    """Run every target concurrently and gather one result."""
    if not targets:
        raise UsageError("no targets to run")
    result = new_result(options.strict)
    with ThreadPoolExecutor(
        max_workers=min(8, len(targets)), thread_name_prefix="remixcheck-target"
    ) as pool:
        # The client stacks run once for all targets below, not once per target.
        each = dataclasses.replace(options, client_impact=False)
        result.targets = list(pool.map(lambda t: run_target(t, each, progress), targets))
    if options.client_impact:
        assess_clients(result.targets, [t.api_key for t in targets if t.api_key])
    result.finished_at = now()
    result.interrupted = stopping.stopped()
    return result


def new_result(strict: bool) -> RunResult:
    """An empty RunResult stamped with the tool and spec it is made with."""
    contract = Contract.load()
    return RunResult(
        tool_version=__version__,
        spec_version=contract.version,
        spec_sha256=contract.sha256,
        started_at=now(),
        strict=strict,
    )


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def public_dict(result: RunResult, targets: Sequence[Target]) -> dict[str, Any]:
    """The results as they may be written anywhere: every secret scrubbed, wherever it was echoed."""
    return scrub(result.to_dict(), [t.api_key for t in targets if t.api_key])  # type: ignore[no-any-return]


@contextlib.contextmanager
def emulated_targets(
    names: Sequence[str], *, job_seconds: float = 0.6, faults: Sequence[str] = ()
) -> Iterator[list[Target]]:
    """Start the bundled emulators on free loopback ports and yield a target for each."""
    from remixcheck.emulator import EMULATED_VENDORS, running_emulator

    # OpenAI first: it is the reference the other columns are read against.
    chosen = list(names) or sorted(EMULATED_VENDORS, key=lambda v: (v != "openai", v))
    for name in chosen:
        vendors.load(name)
    with contextlib.ExitStack() as stack:
        targets = []
        for name in chosen:
            emu = stack.enter_context(
                running_emulator(name, job_seconds=job_seconds, faults=tuple(faults))
            )
            targets.append(
                Target(
                    name=f"{name}-emulator",
                    vendor=name,
                    base_url=emu.base_url,
                    api_key_env="REMIXCHECK_EMULATOR_API_KEY",
                    api_key=emu.api_key,
                    video_id=emu.source_video_id,
                    max_billable=None,
                    emulated=True,
                )
            )
        yield targets

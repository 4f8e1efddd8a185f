"""Which generators feed a fuzz run (`--phases`), and the drafts they yield in turn.

- `edge`: remixcheck's remix edge cases (edge_cases.py), sent first.
- `coverage`: schemathesis's coverage phase (boundary values, wrong types, missing fields,
  unsupported content types, missing auth, undeclared methods).
- `fuzzing`: Hypothesis-driven generation through schemathesis, positive and negative.

All three run by default, in that order, each until it is done or the budget is spent;
edge cases and the coverage phase come to about 200 requests (the default budget), so
fuzzing only runs on a larger one. bench/bench_fuzz.py --phase-matrix (openai emulator,
164 requests) measured each finding a fault the others miss: edge cases alone 17 of the
24 injectable faults, coverage adding an undeclared method's 405 in a framework's
envelope, fuzzing (edge cases then fuzzing) a job whose progress goes back. A phase is
never run without being named."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads the phase names at start-up: nothing heavy is imported here
    from remixcheck.contract import profiles as vendors
    from remixcheck.contract.spec import Contract
    from remixcheck.fuzzing.drafts import Demand, Draft, Ids

EDGE, COVERAGE, FUZZING = "edge", "coverage", "fuzzing"
PHASES = (EDGE, COVERAGE, FUZZING)
DEFAULT_PHASES = PHASES


def parse_phases(text: str) -> tuple[str, ...]:
    """`edge,fuzzing` as a tuple in the order phases run; ValueError names what is wrong."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PHASES))
    if unknown:
        raise ValueError(f"unknown phase(s) {', '.join(unknown)}; choose from {', '.join(PHASES)}")
    if not names:
        raise ValueError(f"no phase given; choose from {', '.join(PHASES)}")
    return tuple(p for p in PHASES if p in names)


def drafts(
    contract: Contract,
    profile: vendors.Profile,
    ids: Ids,
    seed: int,
    blocked: set[str],
    demand: Demand,
    phases: tuple[str, ...] = DEFAULT_PHASES,
    cache_dir: Path | None = None,
    jobs: int = 1,
) -> Generator[Draft, None, None]:
    """Remix edge cases, then schemathesis's coverage phase, then its fuzzing, as `st run`
    orders its phases; within a phase the operations take turns, remix first. `cache_dir`:
    where the coverage phase is kept once generated (see coverage_cache); `jobs`: processes
    drawing the fuzzing phase (see batches)."""
    from remixcheck.fuzzing import batches
    from remixcheck.fuzzing.coverage_cache import cached, coverage_drafts
    from remixcheck.fuzzing.edge_cases import edge_cases

    ahead = None
    covered = cached(contract, cache_dir) if COVERAGE in phases else None
    try:
        if FUZZING in phases:
            # The fuzzing phase is planned now, so that -j workers draw while the earlier
            # phases are sent, from a budget every run knows at the start: what the edge
            # cases leave (the coverage phase's share is known only once it is cached).
            edge = sum(1 for _ in edge_cases(profile, ids)) if EDGE in phases else 0
            left = demand.left - edge
            # A cached coverage phase that takes the rest of the budget leaves the workers
            # next to nothing to draw (only as many cases as it had duplicates): this
            # process draws those sooner than workers start, and waits for no worker at
            # its end. The plan, and so every draft, is the same either way.
            workers = jobs if covered is None or left > len(covered.drafts) else 1
            fuzzing, ahead = batches.streams(contract, seed, left, workers)
        if EDGE in phases:
            yield from edge_cases(profile, ids)
        if COVERAGE in phases:
            yield from coverage_drafts(
                contract,
                cache_dir,
                lambda: _take_turns(_coverage_streams(contract), blocked),
                covered,
            )
        if FUZZING in phases:
            if ahead is not None:
                ahead.reach(demand.left)  # draw no further ahead than the budget now left
            yield from _take_turns(fuzzing, blocked, ahead.drop if ahead else None)
    finally:
        if ahead is not None:
            ahead.close()


def _coverage_streams(contract: Contract) -> dict[str, Iterator[Draft]]:
    from remixcheck.fuzzing.generation import coverage_streams  # imports schemathesis

    return coverage_streams(contract)


def _take_turns(
    streams: dict[str, Iterator[Draft]],
    blocked: set[str],
    dropped: Callable[[str], None] | None = None,
) -> Iterator[Draft]:
    while streams:
        for name in list(streams):
            if name in blocked:
                del streams[name]
                if dropped is not None:
                    dropped(name)
                continue
            draft = next(streams[name], None)
            if draft is None:
                del streams[name]
            else:
                yield draft

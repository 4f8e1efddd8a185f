"""The fuzzing phase's cases, drawn in batches: how large each batch is (`Plan`), and where it
is drawn (`fuzz -j N`): in this process, or ahead of need by N worker processes.

Drawing a case through schemathesis and Hypothesis costs milliseconds of CPU, sending and
judging it far less, so past the edge cases and the coverage phase a run is bound by
generation; workers draw the next batches while this process sends the ones drawn.

A batch is a function of its stream, its index, its size and the seed (generation.Drawer),
and the plan fixes every size when the run starts, so workers give the same drafts in the
same order as this process: `-j N` sends what `-j 1` sends."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remixcheck import procpool
from remixcheck.conformance import stopping

if TYPE_CHECKING:
    from remixcheck.contract.spec import Contract
    from remixcheck.fuzzing.drafts import Draft
    from remixcheck.fuzzing.generation import Drawer

# Hypothesis examples per batch: small, so that workers hand over soon and little is drawn
# past the end of the budget; the engine's cost per draw call barely shows (3.4 ms a case
# at 4, 3.8 at 64, remix operation). bench/bench_fuzz.py at 882 requests, -j 2: batches of
# at most 8 sent 266 requests/s, of 16, 241, of 32, 235 (medians of 3).
MIN_BATCH, MAX_BATCH = 4, 8
# Batches in flight or waiting per worker: enough to keep drawing through the edge cases
# and the coverage phase; never past the plan.
AHEAD_PER_JOB = 8

Batch = tuple[int, "list[Draft]"]  # cases Hypothesis gave (0: the stream is spent), the drafts
Draw = Callable[[str, int, int], Batch]  # (stream, batch index, size) -> the batch


@dataclass(slots=True)
class Plan:
    """Every batch's size, fixed when the run starts from the budget the edge cases leave
    (the coverage phase's share is known only once it is cached): each round of
    batches (one per stream) takes its share of what the earlier rounds leave."""

    left: int
    streams: int
    _sizes: list[int] = field(default_factory=list)

    def size(self, batch: int) -> int:
        while len(self._sizes) <= batch:
            left = self.left - self.streams * sum(self._sizes)
            share = -(-left // max(1, self.streams))
            self._sizes.append(min(MAX_BATCH, max(MIN_BATCH, share)))
        return self._sizes[batch]

    def rounds(self, left: int | None = None) -> Iterator[int]:
        """The rounds a budget (the plan's, or `left`) reaches when every case is sent, and one
        more for the cases that are not (duplicates, operations a target blocks)."""
        budget = self.left if left is None else left
        for batch in itertools.count():
            yield batch
            if self.streams * sum(self.size(b) for b in range(batch + 1)) >= budget:
                yield batch + 1
                return


def streams(
    contract: Contract, seed: int, left: int, jobs: int
) -> tuple[dict[str, Iterator[Draft]], Ahead | None]:
    """The phase's streams, remix first, for a budget of `left` requests; with `jobs` above 1
    the workers start drawing now (the caller closes them: `Ahead.close`)."""
    from remixcheck.fuzzing.generation import stream_names

    names = stream_names(contract)
    plan = Plan(left, len(names))
    if jobs <= 1 or left <= 0:
        local = _Local(contract, seed)
        return {n: _stream(n, plan, local.draw) for n in names}, None
    ahead = Ahead(contract, seed, plan, names, jobs)
    return {n: _stream(n, plan, ahead.take) for n in names}, ahead


def _stream(name: str, plan: Plan, draw: Draw) -> Iterator[Draft]:
    for batch in itertools.count():
        cases, drafts = draw(name, batch, plan.size(batch))
        if not cases:
            return
        yield from drafts


class _Local:
    """Draws in this process, building the strategies when the phase first needs them."""

    def __init__(self, contract: Contract, seed: int) -> None:
        self.contract, self.seed = contract, seed
        self.drawer: Drawer | None = None

    def draw(self, stream: str, batch: int, size: int) -> Batch:
        if self.drawer is None:
            from remixcheck.fuzzing.generation import Drawer  # imports schemathesis

            self.drawer = Drawer(self.contract, self.seed)
        return self.drawer.draw(stream, batch, size)


_drawer: Drawer | None = None  # the drawer of this process's batches when it is a worker


class Ahead:
    """Worker processes drawing the plan's batches, round by round, before they are needed.

    Each worker builds its own strategies when it starts, while this process sends what
    comes before the phase (the edge cases, the coverage phase). Should a worker die
    (killed, out of memory), the rest is drawn here: the same batches, only later."""

    def __init__(
        self, contract: Contract, seed: int, plan: Plan, names: list[str], jobs: int
    ) -> None:
        self.plan = plan
        self.window = AHEAD_PER_JOB * jobs
        self._order = ((n, b) for b in plan.rounds() for n in names)
        self._futures: dict[tuple[str, int], Future[bytes | str]] = {}
        self._asked: set[tuple[str, int]] = set()  # submitted once: never again
        self._done: set[str] = set()  # streams spent or given up: nothing more is drawn
        self._local = _Local(contract, seed)
        self._last_round: int | None = None  # the last round worth drawing ahead (`reach`)
        self.broken = False
        self.pool = procpool.executor(jobs, _start_worker, (contract, seed))
        try:
            self._fill()
        except BaseException:  # a stop while the workers start: they must not outlive it
            self.close()
            raise

    def reach(self, left: int) -> None:
        """The phase starts with `left` requests to go: rounds past them are not drawn ahead
        (the sizes stay the plan's: only how far ahead changes)."""
        self._last_round = max(self.plan.rounds(left))

    def take(self, stream: str, batch: int, size: int) -> Batch:
        """The batch, drawn ahead or now. A stop signal raises out of the wait."""
        future = self._futures.pop((stream, batch), None)
        if future is None and not self.broken:
            future = self._submit((stream, batch))
        self._fill()
        try:
            result: Batch | None = procpool.result(future) if future is not None else None
        except BrokenProcessPool:
            result = None
        if result is None:
            self._lost()
            result = self._local.draw(stream, batch, size)
        if not result[0]:
            self.drop(stream)
        return result

    def drop(self, stream: str) -> None:
        """Draw nothing more for a stream (it is spent, or its operation is blocked)."""
        self._done.add(stream)
        for key in [k for k in self._futures if k[0] == stream]:
            self._futures.pop(key).cancel()

    def _fill(self) -> None:
        while not self.broken and len(self._futures) < self.window:
            key = next((k for k in self._order if k[0] not in self._done), None)
            if key is None or (self._last_round is not None and key[1] > self._last_round):
                return
            if key not in self._asked and (future := self._submit(key)) is not None:
                self._futures[key] = future

    def _submit(self, key: tuple[str, int]) -> Future[bytes | str] | None:
        self._asked.add(key)
        try:
            return self.pool.submit(_draw, key[0], key[1], self.plan.size(key[1]))
        except BrokenProcessPool:
            self._lost()
            return None

    def _lost(self) -> None:
        """A worker died: every batch not yet drawn is drawn here."""
        self.broken = True
        self._futures.clear()

    def close(self) -> None:
        """Stop the workers; what they were drawing is not needed. A stop signal does not
        break into this (the workers would be left running)."""
        with stopping.shielded():
            self.pool.stop()


def _start_worker(contract: Contract, seed: int) -> None:
    global _drawer
    from remixcheck.fuzzing.generation import Drawer  # imports schemathesis

    _drawer = Drawer(contract, seed)


def _draw(stream: str, batch: int, size: int) -> Batch:
    assert _drawer is not None, "the pool's initializer sets the drawer"
    procpool.check()  # a batch takes tens of milliseconds: checking before each is enough
    return _drawer.draw(stream, batch, size)

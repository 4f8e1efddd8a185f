"""Where the time of `remixcheck run --emulate` goes.

Runs the whole catalogue against all four emulators in-process, several rounds, and splits
each target's wall time into: waiting on the emulated job clock (the poll sleeps), HTTP
round trips (client send to last byte, server work included), and the rest, which is
remixcheck's own work (building requests, validating, judging). Also times the CLI end to
end (`remixcheck run --emulate`, reports included) against the 10 s target.

    .venv/bin/python bench/bench_run.py [--quick] [--repeat N]
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from typing import Any

import _common as c
from remixcheck.conformance import runner
from remixcheck.conformance.checks import context as check_context
from remixcheck.conformance.checks.context import Settings

TARGET = 10.0  # seconds for a run of all four emulators, reports included


class _SleepMeter:
    """Counts the seconds the poll loop sleeps, per thread (targets run in parallel threads)."""

    def __init__(self) -> None:
        self.by_thread: dict[str, float] = {}
        self._sleep = time.sleep

    def __call__(self, seconds: float) -> None:
        import threading

        name = threading.current_thread().name
        self.by_thread[name] = self.by_thread.get(name, 0.0) + seconds
        self._sleep(seconds)


def one_round() -> list[dict[str, Any]]:
    meter = _SleepMeter()
    original = check_context.time.sleep
    check_context.time.sleep = meter  # type: ignore[assignment]
    try:
        with runner.emulated_targets([]) as targets:
            result = runner.run(targets, runner.RunOptions(context=Settings(poll_interval=0.1)))
    finally:
        check_context.time.sleep = original  # type: ignore[assignment]
    slept = sorted(meter.by_thread.values(), reverse=True)
    rows = []
    for target in result.targets:
        http_ms = sum(
            e.response.get("elapsed_ms") or 0
            for ch in target.checks
            for e in [*ch.evidence]
            if e.response
        )
        rows.append({"target": target.name, "wall_ms": target.duration_ms, "http_ms": http_ms})
    # Threads are unnamed per target; pair the largest sleeps with the longest walls.
    for row, sleep in zip(
        sorted(rows, key=lambda r: -r["wall_ms"]), slept + [0.0] * len(rows), strict=False
    ):
        row["sleep_ms"] = sleep * 1000
        row["own_ms"] = max(0.0, row["wall_ms"] - row["sleep_ms"] - row["http_ms"])
    return rows


def cli_once() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [str(c.venv_bin("remixcheck")), "run", "--emulate", "--report-dir", tmp],
            cwd=tmp,
            capture_output=True,
            check=True,
            timeout=120,
        )
        return time.perf_counter() - start


def main() -> None:
    args = c.make_parser(__doc__ or "", default_repeat=5, quick_repeat=2).parse_args()
    rounds = c.repeats(args)
    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for row in one_round():
            per = samples.setdefault(
                row["target"], {"wall_ms": [], "sleep_ms": [], "http_ms": [], "own_ms": []}
            )
            for key in per:
                per[key].append(row[key])
    table = []
    for name, per in samples.items():
        wall = c.Spread.of(per["wall_ms"]).median
        table.append(
            [
                name,
                f"{wall:,.0f} ms",
                f"{c.Spread.of(per['sleep_ms']).median:,.0f} ms ({c.Spread.of(per['sleep_ms']).median / wall:.0%})",
                f"{c.Spread.of(per['http_ms']).median:,.0f} ms ({c.Spread.of(per['http_ms']).median / wall:.0%})",
                f"{c.Spread.of(per['own_ms']).median:,.0f} ms ({c.Spread.of(per['own_ms']).median / wall:.0%})",
            ]
        )
    c.print_table(
        f"run --emulate, in-process, {rounds} rounds (median per target; targets run in parallel)",
        ["target", "wall", "waiting on job clock", "HTTP round trips", "remixcheck's own"],
        table,
    )
    cli = c.Spread.of([cli_once() for _ in range(rounds)])
    print(
        f"\n`remixcheck run --emulate` end to end (4 emulators, reports written): {cli.fmt(c.ms)}"
    )
    print(f"target < {TARGET:g} s: {c.target(cli.median < TARGET)}")
    c.write_report(
        "bench_run",
        {
            "rounds": rounds,
            "per_target": samples,
            "cli_seconds": cli.to_dict(),
            "target_seconds": TARGET,
        },
    )


if __name__ == "__main__":
    main()

"""`remixcheck validate -j 2` against `-j 1` on the same files: how the process pool scales.

Runs the real CLI as a subprocess (`remixcheck validate FILE... --vendor openai --format json
-j N`), -j 1 and -j 2 interleaved round after round (rotating order), and takes the ratio of
their wall times within each round. Inputs, written streaming to a temporary folder:

  jsonl       one JSON-lines file, cut into byte ranges by `-j 2`
  1 x har     one HAR file: -j 2 cuts it into two ranges of entries, and the second range
              decodes the entries before it only to count them
  2 x har     two HAR files of half the size each: each goes whole to one worker

Each round also runs the CLI on a one-line file (the fixed cost no process pool can share:
interpreter, imports, contract) and reports the ratio net of it. The 1-minute load average
is recorded before each round: the machine is shared, and a neighbour's busy core is one
that -j 2 does not get. The JSON reports of -j 1 and -j 2 are compared byte for byte.

    .venv/bin/python bench/bench_parallel.py [--quick | --smoke] [--repeat N] [--lines N]
"""

from __future__ import annotations

import os
import resource
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c
from _corpus import RecordFile, record_pool, write_har, write_jsonl

TARGET = 1.6  # -j 2 over -j 1, issue 18
POOL = 2000


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the CLI and its workers
    max_rss: int


def validate(files: Sequence[Path], jobs: int, out: Path) -> Run:
    # RUSAGE_CHILDREN counts every descendant once it is reaped, and the CLI reaps its workers.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with out.open("wb") as fh:
        run = c.run_child(
            [
                c.venv_bin("remixcheck"),
                "validate",
                *files,
                "--vendor",
                "openai",
                "--format",
                "json",
                "-j",
                str(jobs),
            ],
            stdout=fh,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1):
        raise SystemExit(f"remixcheck validate -j {jobs} exited {run.returncode}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Run(run.wall, cpu, run.max_rss)


def measure(files: list[RecordFile], one: RecordFile, scratch: Path, rounds: int) -> dict[str, Any]:
    paths = [f.path for f in files]
    loads: list[float] = []

    def loaded(job: Any) -> Any:
        def run() -> Any:
            loads.append(os.getloadavg()[0])
            return job()

        return run

    runs = c.round_robin(
        {
            "-j 1": loaded(lambda: validate(paths, 1, scratch / "j1.json")),
            "-j 2": loaded(lambda: validate(paths, 2, scratch / "j2.json")),
            "startup": lambda: validate([one.path], 2, scratch / "one.json"),
        },
        rounds,
    )
    if (scratch / "j1.json").read_bytes() != (scratch / "j2.json").read_bytes():
        raise SystemExit("-j 2 and -j 1 printed different reports")
    n = sum(f.exchanges for f in files)
    one_wall = [r.wall for r in runs["-j 1"]]
    two_wall = [r.wall for r in runs["-j 2"]]
    fixed = [r.wall for r in runs["startup"]]
    net = [
        (a - s) / (b - s)
        for a, b, s in zip(one_wall, two_wall, fixed, strict=True)
        if b > 2 * s  # else the run is mostly start-up
    ]
    ratio = c.Spread.of(c.ratios(one_wall, two_wall))
    one_cpu = [r.cpu for r in runs["-j 1"]]
    two_cpu = [r.cpu for r in runs["-j 2"]]
    return {
        "exchanges": n,
        "bytes": sum(f.size for f in files),
        "rate_j1": c.Spread.of([n / w for w in one_wall]),
        "rate_j2": c.Spread.of([n / w for w in two_wall]),
        "ratio_j2_vs_j1": ratio,
        "ratio_net_of_startup": c.Spread.of(net) if net else None,
        "startup_wall": c.Spread.of(fixed),
        # What -j 2 costs in CPU over -j 1 (pool, pieces, merge: the load-free part of the
        # figure), and how many cores it got: near 2 on an idle 2-core machine.
        "cpu_j2_vs_j1": c.Spread.of(c.ratios(two_cpu, one_cpu)),
        "cores_used_j2": c.Spread.of(c.ratios(two_cpu, two_wall)),
        "cores_used_j1": c.Spread.of(c.ratios(one_cpu, one_wall)),
        # A bound, not a measurement: the wall ratio if -j 1 got a whole core and -j 2 two,
        # from the CPU seconds (start-up runs on one core, the rest splits over two).
        "idle_machine_bound": c.Spread.of(
            [
                a / (s + (b - s) / 2)
                for a, b, s in zip(one_cpu, two_cpu, [r.cpu for r in runs["startup"]], strict=True)
            ]
        ),
        "peak_rss_j1": c.Spread.of([r.max_rss for r in runs["-j 1"]]),
        "peak_rss_j2": c.Spread.of([r.max_rss for r in runs["-j 2"]]),
        "loadavg_1min": c.Spread.of(loads),
        "target": TARGET,
        "target_met": ratio.median >= TARGET,
        "samples": {
            "wall_j1": one_wall,
            "wall_j2": two_wall,
            "cpu_j1": one_cpu,
            "cpu_j2": two_cpu,
            "wall_startup": fixed,
            "loadavg_1min": loads,  # before each -j 1 and -j 2 run, in run order
        },
    }


def report(results: dict[str, Any], rounds: int) -> None:
    rows = [
        [
            f"{kind} ({r['exchanges']:,} exchanges, {c.mb(r['bytes'])})",
            r["rate_j1"].fmt(c.rate),
            r["rate_j2"].fmt(c.rate),
            r["ratio_j2_vs_j1"].fmt(c.times),
            r["ratio_net_of_startup"].fmt(c.times) if r["ratio_net_of_startup"] else "n/a",
            f">= {TARGET}x: {c.target(r['target_met'])}",
            r["cpu_j2_vs_j1"].fmt(c.times),
            f"{r['cores_used_j1'].median:.2f} / {r['cores_used_j2'].median:.2f}",
            r["idle_machine_bound"].fmt(c.times),
            r["loadavg_1min"].fmt(lambda v: f"{v:.2f}"),
        ]
        for kind, r in results.items()
    ]
    c.print_table(
        f"`remixcheck validate` exchanges/s, -j 2 vs -j 1 on {os.cpu_count()} CPUs "
        f"(median [min..max] of {rounds} interleaved rounds; ratios taken within each round)",
        [
            "input",
            "-j 1",
            "-j 2",
            "-j 2 / -j 1",
            "net of startup",
            "target",
            "CPU -j 2 / -j 1",
            "cores got -j 1 / -j 2",
            "bound if idle",
            "load avg (1 min)",
        ],
        rows,
    )
    first = next(iter(results.values()))
    print(f"\nfixed cost of one CLI run (1-line file): {first['startup_wall'].fmt(c.ms)}")
    if autogroup():
        print(
            "sched_autogroup is on: the kernel shares the CPUs between sessions, not processes, "
            "so while other sessions keep the cores busy -j 2 gets no more CPU than -j 1; "
            "'bound if idle' is the figure free of them"
        )


def autogroup() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def main() -> None:
    parser = c.make_parser(__doc__.splitlines()[0], default_repeat=5)
    parser.add_argument(
        "--lines",
        type=int,
        default=None,
        help="exchanges per input (default 300,000; --quick 60,000; --smoke 3,000)",
    )
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the generated files")
    args = parser.parse_args()
    rounds = c.repeats(args)
    n = args.lines or (3_000 if args.smoke else 60_000 if args.quick else 300_000)
    records = record_pool(POOL)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="remixcheck-bench-", dir=args.tmp) as tmp:
        scratch = Path(tmp)
        one = write_jsonl(scratch / "one.jsonl", 1, records)
        # HAR reads about 3x slower than JSON lines: a third as many entries, similar walls.
        inputs = {
            "jsonl": [write_jsonl(scratch / "all.jsonl", n, records)],
            "1 x har": [write_har(scratch / "one.har", max(1, n // 3), records)],
            "2 x har": [write_har(scratch / f"{i}.har", max(1, n // 6), records) for i in (1, 2)],
        }
        for kind, files in inputs.items():
            print(f"{kind}: {rounds} rounds of -j 1, -j 2 and start-up ...", flush=True)
            results[kind] = measure(files, one, scratch, rounds)
    report(results, rounds)
    c.write_report(
        "bench_parallel",
        {"rounds": rounds, "target": TARGET, "sched_autogroup": autogroup(), "results": results},
    )


if __name__ == "__main__":
    main()

"""`remixcheck validate` on big generated files: exchanges/s and the child's peak RSS.

Runs the real CLI as a subprocess (`remixcheck validate FILE --vendor openai --format json`)
on a JSON-lines file and on a HAR file, each at two sizes (N/10 and N), written streaming
to a temporary folder. Every figure comes with a side-by-side reference from the same run:

  floor        a child that only parses the same file with json.loads (per line; the whole
               HAR at once): remixcheck's rate as a fraction of parsing, the ceiling
  startup      the CLI on a one-line file: fixed cost, and the RSS any run starts from
  N vs N/10    peak RSS at both sizes (flat memory means a ratio near 1.0), and the
               steady-state rate (N - N/10) / (wall(N) - wall(N/10)), free of startup

The N/10 runs (and the floors) repeat --repeat times, interleaved; the N run happens once,
since at the default N = 1,000,000 it alone takes about a minute on the reference machine.

    .venv/bin/python bench/bench_bulk.py [--quick] [--repeat N] [--lines N] [--har-entries N] [--profile]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common as c
from _corpus import RecordFile, record_pool, write_har, write_jsonl

TARGET_RSS = 200_000_000  # bytes (200 MB), whatever the input size
POOL = 2000  # distinct records; files cycle through them
PROFILE_SIZE = 20_000  # exchanges profiled in-process with --profile
FLOOR_JSONL = "import json,sys\nwith open(sys.argv[1],'rb') as f:\n    for line in f:\n        json.loads(line)\n"
# The ceiling: json.loads of the same bytes (the whole HAR at once, which a streaming
# reader must not do; the N/10 file is small enough).
FLOOR_HAR = "import json,sys\nwith open(sys.argv[1],'rb') as f:\n    json.loads(f.read())\n"
TARGET_HAR = 40_000  # exchanges/s, steady state


def validate(inp: RecordFile, scratch: Path) -> c.ChildRun:
    """The CLI on one file; its JSON report is read back to prove every exchange was judged."""
    out = scratch / "report.json"
    with out.open("wb") as fh:
        run = c.run_child(
            [
                c.venv_bin("remixcheck"),
                "validate",
                inp.path,
                "--vendor",
                "openai",
                "--format",
                "json",
            ],
            stdout=fh,
        )
    if run.returncode not in (0, 1):
        raise SystemExit(f"remixcheck validate {inp.path.name} exited {run.returncode}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if report["validated"] != inp.exchanges or report["bad_records"]:
        raise SystemExit(
            f"{inp.path.name}: {report['validated']} of {inp.exchanges} validated, {report['bad_records']} unreadable"
        )
    return run


def floor(inp: RecordFile) -> c.ChildRun:
    return c.run_child(
        [sys.executable, "-c", FLOOR_HAR if inp.kind == "har" else FLOOR_JSONL, inp.path]
    )


def measure(
    small: RecordFile, big: RecordFile, one: RecordFile, scratch: Path, rounds: int
) -> dict[str, Any]:
    """Interleaved rounds at N/10 (remixcheck, floor, one-line startup), then one run at N."""
    runs = c.round_robin(
        {
            "remixcheck": lambda: validate(small, scratch),
            "floor": lambda: floor(small),
            "startup": lambda: validate(one, scratch),
        },
        rounds,
    )
    print(
        f"  {big.kind}: one run on {big.exchanges:,} exchanges ({c.mb(big.size)}) ...", flush=True
    )
    large = validate(big, scratch)
    n = small.exchanges
    rate = [n / r.wall for r in runs["remixcheck"]]
    floor_rate = [n / r.wall for r in runs["floor"]]
    # Net of the fixed cost measured in the same round (imports, spec, schema compilation);
    # meaningless when the file is so small that the run is mostly start-up (dropped then).
    net = [
        n / (r.wall - s.wall)
        for r, s in zip(runs["remixcheck"], runs["startup"], strict=True)
        if r.wall > 2 * s.wall
    ]
    wall_small = c.Spread.of([r.wall for r in runs["remixcheck"]])
    peak_small = c.Spread.of([r.max_rss for r in runs["remixcheck"]])
    peak_startup = c.Spread.of([r.max_rss for r in runs["startup"]])
    return {
        "small": {"exchanges": n, "bytes": small.size},
        "large": {"exchanges": big.exchanges, "bytes": big.size},
        "rate_small": c.Spread.of(rate),
        "rate_small_net_of_startup": c.Spread.of(net) if net else None,
        "rate_floor_small": c.Spread.of(floor_rate),
        "rate_vs_floor_small": c.Spread.of(c.ratios(rate, floor_rate)),
        "wall_small": wall_small,
        "wall_large": large.wall,
        "rate_large": big.exchanges / large.wall,
        "rate_steady_state": (big.exchanges - n) / max(large.wall - wall_small.median, 1e-9),
        "startup_wall": c.Spread.of([r.wall for r in runs["startup"]]),
        "peak_rss_startup": peak_startup,
        "peak_rss_floor_small": c.Spread.of([r.max_rss for r in runs["floor"]]),
        "peak_rss_small": peak_small,
        "peak_rss_large": large.max_rss,
        "peak_large_vs_small": large.max_rss / peak_small.median,
        "peak_large_vs_startup": large.max_rss / peak_startup.median,
        "rss_target_met": max(large.max_rss, peak_small.max) < TARGET_RSS,
    }


def report(results: dict[str, Any], rounds: int) -> None:
    rows = []
    for kind, r in results.items():
        rows.append(
            [
                f"{kind} N/10 = {r['small']['exchanges']:,}",
                r["rate_small"].fmt(c.rate),
                r["rate_small_net_of_startup"].fmt(c.rate)
                if r["rate_small_net_of_startup"]
                else "n/a",
                r["rate_floor_small"].fmt(c.rate),
                r["rate_vs_floor_small"].fmt(c.times),
            ]
        )
        rows.append(
            [f"{kind} N = {r['large']['exchanges']:,}", c.rate(r["rate_large"]), "", "", ""]
        )
        rows.append([f"{kind} steady state (N - N/10)", c.rate(r["rate_steady_state"]), "", "", ""])
    c.print_table(
        f"exchanges/s of `remixcheck validate` (median [min..max] of {rounds} rounds at N/10; one run at N)",
        ["input", "wall", "net of startup", "parse-only", "wall vs parse"],
        rows,
    )
    mem_rows = [
        [
            kind,
            c.mb(r["peak_rss_startup"].median),
            c.mb(r["peak_rss_floor_small"].median),
            r["peak_rss_small"].fmt(c.mb),
            c.mb(r["peak_rss_large"]),
            c.times(r["peak_large_vs_small"]),
            f"< {c.mb(TARGET_RSS)}: {c.target(r['rss_target_met'])}",
        ]
        for kind, r in results.items()
    ]
    c.print_table(
        f"peak RSS of the child ({c.rss_method()}): flat memory keeps N vs N/10 near 1.0x",
        ["input", "1-line file", "parse-only", "N/10", "N", "N vs N/10", "target"],
        mem_rows,
    )
    print(
        f"\nfixed cost of one CLI run (1-line file): {results['jsonl']['startup_wall'].fmt(c.ms)}"
    )
    if "har" in results:
        har = results["har"]
        steady = har["rate_steady_state"]
        har["target_met"] = steady >= TARGET_HAR
        print(
            f"target >= {TARGET_HAR:,} HAR exchanges/s (steady state): {c.rate(steady)}/s "
            f"-> {c.target(har['target_met'])}"
        )


def main() -> None:
    parser = c.make_parser(__doc__.splitlines()[0], default_repeat=3)
    parser.add_argument(
        "--lines",
        type=int,
        default=None,
        help="JSON-lines exchanges N (default 1,000,000; --quick 100,000)",
    )
    parser.add_argument(
        "--har-entries",
        type=int,
        default=None,
        help="HAR entries N (default 200,000; --quick 20,000)",
    )
    parser.add_argument(
        "--tmp",
        type=Path,
        default=None,
        help="folder for the generated files (default: a new temp dir)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also cProfile offline.validate_files in-process on {PROFILE_SIZE:,} exchanges of each format",
    )
    args = parser.parse_args()
    rounds = c.repeats(args)
    sizes = {
        "jsonl": args.lines or (2_000 if args.smoke else 100_000 if args.quick else 1_000_000),
        "har": args.har_entries or (500 if args.smoke else 20_000 if args.quick else 200_000),
    }
    writers = {"jsonl": write_jsonl, "har": write_har}

    records = record_pool(POOL)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="remixcheck-bench-", dir=args.tmp) as tmp:
        scratch = Path(tmp)
        one = write_jsonl(scratch / "one.jsonl", 1, records)
        for kind, n in sizes.items():
            small = writers[kind](scratch / f"small.{kind}", max(1, n // 10), records)
            big = writers[kind](scratch / f"big.{kind}", n, records)
            print(
                f"{kind}: {rounds} rounds on {small.exchanges:,} exchanges ({c.mb(small.size)}) ...",
                flush=True,
            )
            results[kind] = measure(small, big, one, scratch, rounds)
            big.path.unlink()  # free the disk before the next format
            if args.profile:
                results[kind]["profile"] = profile(
                    small
                    if small.exchanges <= PROFILE_SIZE
                    else writers[kind](scratch / f"profile.{kind}", PROFILE_SIZE, records)
                )
    report(results, rounds)
    c.write_report(
        "bench_bulk", {"rounds": rounds, "target_rss_bytes": TARGET_RSS, "results": results}
    )


def profile(inp: RecordFile) -> list[dict[str, Any]]:
    """Where `validate` spends its time, in-process (the Validator is built before profiling)."""
    from remixcheck.contract import profiles as vendors
    from remixcheck.validation import offline
    from remixcheck.validation.validator import Validator

    validator = Validator(vendors.load("openai"))
    return c.hot_spots(
        lambda: offline.validate_files([inp.path], validator),
        f"offline.validate_files on {inp.exchanges:,} {inp.kind} exchanges",
    )


if __name__ == "__main__":
    main()

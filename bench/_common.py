"""Shared machinery of the benchmark scripts: options, side-by-side timing, spreads, tables,
child processes with their peak RSS, and the JSON reports under reports/bench/.

The machine the suite runs on is noisy (2 cores, other jobs), so no figure stands alone:
contenders run interleaved, round after round, in rotating order, and every ratio is taken
within a round before its median and spread are computed over the rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
# REMIXCHECK_BENCH_REPORTS moves the reports (the smoke test keeps its own out of reports/bench).
REPORT_DIR = Path(os.environ.get("REMIXCHECK_BENCH_REPORTS") or REPO / "reports" / "bench")


def venv_bin(name: str) -> Path:
    """An executable of the interpreter's environment (the project venv when run from it)."""
    here = Path(sys.executable).parent / name
    return here if here.exists() else REPO / ".venv" / "bin" / name


def make_parser(
    description: str, *, default_repeat: int | None, quick_repeat: int = 3
) -> argparse.ArgumentParser:
    """--quick and --repeat, shared by every script (None: the rounds are not this script's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a ~10 s run with smaller inputs")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smallest run that goes through every step (one round, tiny inputs): "
        "proves the script works, its figures mean nothing",
    )
    rounds = (
        "each script's own"
        if default_repeat is None
        else f"{default_repeat}, --quick {quick_repeat}"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help=f"rounds per measurement (default {rounds})",
    )
    parser.set_defaults(default_repeat=default_repeat or 1, quick_repeat=quick_repeat)
    return parser


def repeats(args: argparse.Namespace) -> int:
    """Rounds to run: --repeat, else the script's default for a full or a --quick run."""
    if args.smoke:
        return 1
    if args.repeat is not None:
        if args.repeat < 1:
            raise SystemExit("--repeat must be at least 1")
        return int(args.repeat)
    return int(args.quick_repeat if args.quick else args.default_repeat)


# -- statistics ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and spread of a handful of samples (IQR is the middle half, by `statistics.quantiles`)."""

    median: float
    min: float
    max: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        if not samples:
            raise ValueError("no samples")
        s = sorted(samples)
        q1, q3 = (
            (statistics.quantiles(s, n=4, method="inclusive")[i] for i in (0, 2))
            if len(s) > 1
            else (s[0], s[0])
        )
        return cls(statistics.median(s), s[0], s[-1], q1, q3, len(s))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def fmt(self, unit: Callable[[float], str]) -> str:
        """'median [min..max]' in the given unit."""
        if self.n == 1:
            return unit(self.median)
        return f"{unit(self.median)} [{unit(self.min)}..{unit(self.max)}]"


def rate(value: float) -> str:
    if value >= 100_000:
        return f"{value / 1000:,.0f}k"
    if value >= 10_000:
        return f"{value / 1000:,.1f}k"
    return f"{value:,.0f}"


def times(value: float) -> str:
    return f"{value:,.1f}x" if value >= 10 else f"{value:,.2f}x"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def mb(value_bytes: float) -> str:
    return f"{value_bytes / 1e6:,.1f} MB"


def target(met: bool) -> str:
    return "MET" if met else "MISSED"


# -- side-by-side timing ------------------------------------------------------------


Work = Callable[[], int]  # does a fixed amount of work, returns how many items it processed
T = TypeVar("T")


def round_robin(jobs: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Each job once per round, in an order that rotates from round to round.

    Rotation keeps any contender from always running right after the same other one
    (warm caches, frequency scaling, a neighbour's burst of work on a shared machine).
    """
    names = list(jobs)
    out: dict[str, list[T]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(jobs[name]())
    return out


def interleaved(contenders: Mapping[str, Work], rounds: int) -> dict[str, list[float]]:
    """Items per second of each contender, one sample per round (see `round_robin`).

    Garbage collection stays on: the library pays for it in real use.
    """

    def timed(work: Work) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            count = work()
            return count / (time.perf_counter() - start)

        return run

    return round_robin({name: timed(work) for name, work in contenders.items()}, rounds)


def ratios(num: Sequence[float], den: Sequence[float]) -> list[float]:
    """Per-round ratios of two interleaved series (never a ratio of medians)."""
    return [a / b for a, b in zip(num, den, strict=True)]


def calibrate(work: Work, seconds: float) -> int:
    """How many times to run `work` to fill about `seconds` (one warm-up pass included)."""
    work()
    start = time.perf_counter()
    work()
    once = max(time.perf_counter() - start, 1e-6)
    return max(1, round(seconds / once))


def hot_spots(work: Callable[[], object], title: str, top: int = 14) -> list[dict[str, Any]]:
    """Run `work` under cProfile; print and return the functions with the most own time."""
    prof = cProfile.Profile()
    prof.runcall(work)
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    rows = [
        {
            "function": f"{filename.split('/site-packages/')[-1].split('/src/')[-1]}:{line}({func})",
            "calls": ncalls,
            "own_share": tottime / total,
            "cumulative_share": cumtime / total,
        }
        for (filename, line, func), (_, ncalls, tottime, cumtime, _) in entries
    ]
    print_table(
        f"{title} (cProfile; shares of the profiled time, which cProfile inflates for Python code)",
        ["function", "calls", "own", "cumulative"],
        [
            [
                r["function"],
                f"{r['calls']:,}",
                f"{r['own_share']:.0%}",
                f"{r['cumulative_share']:.0%}",
            ]
            for r in rows
        ],
    )
    return rows


# -- tables and reports -------------------------------------------------------------


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print(line)
    for i, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print(line)
    print(line)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def environment() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "src", "spec")),
        "argv": sys.argv[1:],
        "rss_method": rss_method(),
        "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }


def write_report(name: str, payload: Mapping[str, Any]) -> Path:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORT_DIR / f"{name}.json"
    data = {"benchmark": name, "environment": environment(), **payload}
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Spread):
        return value.to_dict()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- child processes -----------------------------------------------------------------

GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True, slots=True)
class ChildRun:
    wall: float  # seconds
    max_rss: int  # bytes, peak resident set of the child
    returncode: int


@functools.cache
def rss_method() -> str:
    """How peak RSS is measured: "gnu-time" when /usr/bin/time -f works, else "wait4".

    A child's ru_maxrss starts from the RSS of the process it was forked from (Linux
    carries the high-water mark across fork and exec; with vfork it is the parent's own
    mark). Forked from GNU time (~2 MB) that floor is negligible; forked from this
    benchmark, it would be this benchmark's peak. So GNU time it is, when present.
    """
    try:
        probe = subprocess.run(
            [GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "wait4"
    return "gnu-time" if probe.returncode == 0 and probe.stderr.strip().isdigit() else "wait4"


def run_child(
    cmd: Sequence[str | Path],
    *,
    stdout: IO[bytes] | int = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
) -> ChildRun:
    """Run one command: its wall time, peak RSS (see `rss_method`) and exit code."""
    argv = [str(x) for x in cmd]
    environ = None if env is None else dict(env)
    if rss_method() == "gnu-time":
        with tempfile.NamedTemporaryFile("r", prefix="remixcheck-bench-", suffix=".rss") as out:
            start = time.perf_counter()
            proc = subprocess.run(
                [str(GNU_TIME), "-f", "%M", "-o", out.name, *argv],
                stdout=stdout,
                stderr=subprocess.DEVNULL,
                env=environ,
                check=False,
            )
            wall = time.perf_counter() - start
            # GNU time writes "Command exited with non-zero status N" first when it is not 0.
            kib = int(out.read().strip().splitlines()[-1])
        return ChildRun(wall, kib * 1024, proc.returncode)
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env=environ)
    _, status, usage = os.wait4(child.pid, 0)  # rusage of that one child
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    return ChildRun(wall, usage.ru_maxrss * 1024, child.returncode)  # Linux reports KiB

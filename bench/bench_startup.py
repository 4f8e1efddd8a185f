"""Start-up cost of the CLI, and which heavy modules each command imports.

Wall time of `remixcheck --help`, `remixcheck vendors` and `remixcheck validate` on a one-line
JSON-lines file, each against `python -c pass` run interleaved in the same rounds (the ratio
and the difference are taken within a round). Then `python -X importtime` on
`import remixcheck.cli` and on each command, listing which heavy modules they load.

    .venv/bin/python bench/bench_startup.py [--quick] [--repeat N]
"""

from __future__ import annotations

import functools
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common as c
from _corpus import record_pool, write_jsonl

TARGET_HELP = 0.150  # seconds, `remixcheck --help`
HEAVY = (
    "openapi_core",
    "schemathesis",
    "uvicorn",
    "jinja2",
    "starlette",
    "httpx",
    "rich",
    "jsonschema_rs",
    "yaml",
)
EXTRA = ("jsonschema", "hypothesis", "ijson", "click")  # not in the brief's list, shown for context
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def commands(one_line: Path) -> dict[str, list[str]]:
    """argv of each measured command (the console script, as a user runs it)."""
    cli = str(c.venv_bin("remixcheck"))
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "remixcheck --help": [cli, "--help"],
        "remixcheck vendors": [cli, "vendors"],
        "remixcheck validate (1 line)": [
            cli,
            "validate",
            str(one_line),
            "--vendor",
            "openai",
            "--format",
            "json",
        ],
    }


@dataclass(frozen=True, slots=True)
class ImportEntry:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def importtime(code: str, env: dict[str, str]) -> list[ImportEntry]:
    """Every import `python -X importtime -c code` made, in order."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    out = []
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out.append(
                ImportEntry(m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2)
            )
    if not out:
        raise SystemExit(f"no -X importtime output for {code!r}: {proc.stderr[-500:]}")
    return out


def run_cli_code(argv: Sequence[str]) -> str:
    """Python source that runs the CLI in-process, so -X importtime sees the command's imports too."""
    return (
        f"import sys; sys.argv = {['remixcheck', *argv]!r}; from remixcheck.cli import main; main()"
    )


def package_costs(entries: list[ImportEntry]) -> dict[str, int]:
    """Microseconds each top-level package took to import, dependencies included.

    -X importtime prints a module after its children, one indent level deeper each; the
    cost of a package is the cumulative time of its outermost entries, those with no
    ancestor from the same package (so `rich` counts once even if rich.console came first).
    """
    costs: dict[str, int] = {}
    stack: list[str] = []  # roots of the ancestors of the current entry
    for e in reversed(entries):  # parents now come before their children
        del stack[e.depth :]
        root = e.module.split(".")[0]
        if root not in stack:
            costs[root] = costs.get(root, 0) + e.cumulative_us
        stack.append(root)
    return costs


def summarise(runs: list[list[ImportEntry]]) -> dict[str, Any]:
    """Medians over several -X importtime runs of the same code."""
    costs = [package_costs(r) for r in runs]
    packages = sorted({k for c_ in costs for k in c_})
    median = {k: statistics.median(c_.get(k, 0) for c_ in costs) for k in packages}
    total = statistics.median(sum(e.cumulative_us for e in r if e.depth == 0) for r in runs)
    own = statistics.median(
        sum(e.self_us for e in r if e.module.split(".")[0] == "remixcheck") for r in runs
    )
    return {
        "modules": len(runs[0]),
        "total_us": total,
        "remixcheck_self_us": own,
        "packages_us": median,
    }


def time_commands(
    cmds: dict[str, list[str]], rounds: int, env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Wall time and peak RSS of each command, interleaved; ratios to `python -c pass` per round."""
    for argv in cmds.values():  # warm the page cache and __pycache__ once
        subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
        )
    jobs: dict[str, Callable[[], c.ChildRun]] = {
        name: functools.partial(c.run_child, argv, env=env) for name, argv in cmds.items()
    }
    runs = c.round_robin(jobs, rounds)
    base = [r.wall for r in runs["python -c pass"]]
    timing: dict[str, dict[str, Any]] = {}
    for name, samples in runs.items():
        wall = [r.wall for r in samples]
        timing[name] = {
            "wall": c.Spread.of(wall),
            "vs_python": c.Spread.of(c.ratios(wall, base)),
            "minus_python": c.Spread.of([a - b for a, b in zip(wall, base, strict=True)]),
            "peak_rss": c.Spread.of([r.max_rss for r in samples]),
            "exit_codes": sorted({r.returncode for r in samples}),
        }
    return timing


def print_timing(timing: dict[str, dict[str, Any]], rounds: int) -> None:
    rows = [
        [
            name,
            t["wall"].fmt(c.ms),
            t["vs_python"].fmt(c.times),
            c.ms(t["minus_python"].median),
            c.mb(t["peak_rss"].median),
        ]
        for name, t in timing.items()
    ]
    c.print_table(
        f"wall time per run, median [min..max] of {rounds} rounds",
        ["command", "wall", "vs python -c pass", "minus python", "peak RSS"],
        rows,
    )


def print_imports(imports: dict[str, dict[str, Any]]) -> None:
    cli = imports["import remixcheck.cli"]
    third_party = [
        (k, v)
        for k, v in cli["packages_us"].items()
        if k not in sys.stdlib_module_names and k != "remixcheck"
    ]
    tops = sorted(third_party, key=lambda kv: -kv[1])[:6]
    print(
        f"\npython -X importtime -c 'import remixcheck.cli': {cli['modules']} modules, "
        f"{cli['total_us'] / 1000:.1f} ms of imports, of which remixcheck's own modules {cli['remixcheck_self_us'] / 1000:.1f} ms"
    )
    print(
        "  third-party packages it imports: "
        + (", ".join(f"{k} {v / 1000:.1f} ms" for k, v in tops) or "none")
    )
    rows = [
        [
            pkg + ("" if pkg in HEAVY else " (extra)"),
            *(_imported(i["packages_us"].get(pkg)) for i in imports.values()),
        ]
        for pkg in (*HEAVY, *EXTRA)
    ]
    rows.append(["all imports", *(f"{i['total_us'] / 1000:.1f} ms" for i in imports.values())])
    c.print_table(
        "heavy modules imported (cumulative import time, median of 3 -X importtime runs)",
        ["module", *imports],
        rows,
    )


def main() -> None:
    parser = c.make_parser(__doc__.splitlines()[0], default_repeat=10, quick_repeat=5)
    args = parser.parse_args()
    rounds = c.repeats(args)
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}

    with tempfile.TemporaryDirectory(prefix="remixcheck-bench-") as tmp:
        one = write_jsonl(Path(tmp) / "one.jsonl", 1, record_pool(1)).path
        cmds = commands(one)
        print(f"{len(cmds)} commands x {rounds} interleaved rounds ...", flush=True)
        timing = time_commands(cmds, rounds, env)
        # -X importtime: three samples each, so the per-package figures are medians too.
        probes = {
            "import remixcheck.cli": "import remixcheck.cli",
            "--help": run_cli_code(["--help"]),
            "vendors": run_cli_code(["vendors"]),
            "validate": run_cli_code(
                ["validate", str(one), "--vendor", "openai", "--format", "json"]
            ),
        }
        imports = {
            name: summarise([importtime(code, env) for _ in range(3)])
            for name, code in probes.items()
        }

    print_timing(timing, rounds)
    help_wall = timing["remixcheck --help"]["wall"].median
    help_met = help_wall < TARGET_HELP
    print(
        f"\ntarget `remixcheck --help` < {c.ms(TARGET_HELP)}: {c.ms(help_wall)} -> {c.target(help_met)}"
    )
    print_imports(imports)
    help_heavy = [pkg for pkg in HEAVY if imports["--help"]["packages_us"].get(pkg)]
    print(f"\nheavy modules imported by --help: {', '.join(help_heavy) or 'none'}")
    c.write_report(
        "bench_startup",
        {
            "rounds": rounds,
            "target_help_seconds": TARGET_HELP,
            "help_target_met": help_met,
            "timing": timing,
            "imports": imports,
            "heavy_imported_by_help": help_heavy,
        },
    )


def _imported(us: float | None) -> str:
    return f"yes {us / 1000:.1f} ms" if us else "-"


if __name__ == "__main__":
    main()

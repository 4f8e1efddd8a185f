"""Run every benchmark in sequence, passing --quick, --smoke and --repeat through, then summarise.

    .venv/bin/python bench/run_all.py [--quick | --smoke] [--repeat N] [--only validate,bulk,parallel,startup]

Each script writes its own reports/bench/<script>.json (bench_run.py: bench_run.json); this
one prints the headline figures from them and exits non-zero when a script failed or wrote no
report (a missed target is not a failure). `--smoke` runs each script in its smallest mode;
tests/test_bench_smoke.py runs it so that a broken benchmark fails the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as c

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "validate": "bench_validate.py",
    "bulk": "bench_bulk.py",
    "parallel": "bench_parallel.py",
    "startup": "bench_startup.py",
    "pytest-plugin": "bench_pytest_plugin.py",
    "run": "bench_run.py",
    "fuzz": "bench_fuzz.py",
    "live": "bench_live.py",
    "proxy": "bench_proxy.py",
}


def headline(name: str, data: dict[str, Any]) -> list[list[str]]:
    """The figures the README table carries, read back from a script's JSON report."""
    if name == "validate":
        rates, ratios, targets = data["rates"], data["ratios"]["mixed"], data["targets"]
        return [
            [
                "remixcheck responses/s (mixed)",
                c.rate(rates["remixcheck/mixed"]["median"]),
                c.target(targets["rate"]["met"]),
            ],
            [
                "remixcheck / openapi-core (mixed)",
                c.times(ratios["remixcheck/openapi-core"]["median"]),
                c.target(targets["vs_openapi_core"]["met"]),
            ],
            [
                "remixcheck / jsonschema (mixed)",
                c.times(ratios["remixcheck/jsonschema"]["median"]),
                "",
            ],
        ]
    if name == "proxy":
        rows = []
        for workload in ("retrieve", "remix"):
            figures = data[workload]
            on_top = figures["validation_on_top_of_pass_through"]["median"]
            rows.append(
                [
                    f"proxy judging on top of pass-through ({workload})",
                    f"{on_top:+.1%}",
                    c.target(on_top <= 0.10),
                ]
            )
            if "share_of_prism_added" in figures:
                share = figures["share_of_prism_added"]["median"]
                rows.append(
                    [
                        f"proxy added / Prism added ({workload})",
                        f"{share:.2f}",
                        c.target(share <= 1 / 3),
                    ]
                )
        return rows
    if name == "bulk":
        rows = []
        for kind, r in data["results"].items():
            rows.append(
                [
                    f"validate {kind}, {r['large']['exchanges']:,} exchanges/s",
                    c.rate(r["rate_large"]),
                    "",
                ]
            )
            rows.append(
                [
                    f"validate {kind}, peak RSS at N/10 and N",
                    f"{c.mb(r['peak_rss_small']['median'])} / {c.mb(r['peak_rss_large'])}",
                    c.target(r["rss_target_met"]),
                ]
            )
        return rows
    if name == "parallel":
        return [
            [
                f"validate -j 2 / -j 1, {kind} (load avg {r['loadavg_1min']['median']:.1f}; "
                f"bound if idle {c.times(r['idle_machine_bound']['median'])})",
                c.times(r["ratio_j2_vs_j1"]["median"]),
                c.target(r["target_met"]),
            ]
            for kind, r in data["results"].items()
        ]
    if name != "startup":
        return []  # its own tables carry its figures
    timing = data["timing"]
    return [
        [
            "remixcheck --help",
            c.ms(timing["remixcheck --help"]["wall"]["median"]),
            c.target(data["help_target_met"]),
        ],
        [
            "heavy modules imported by --help",
            ", ".join(data["heavy_imported_by_help"]) or "none",
            "",
        ],
    ]


def main() -> None:
    parser = c.make_parser("Run every benchmark in sequence.", default_repeat=None)
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help="comma-separated subset of: " + ", ".join(SCRIPTS)
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCRIPTS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}")
    passthrough = (
        (["--quick"] if args.quick else [])
        + (["--smoke"] if args.smoke else [])
        + (["--repeat", str(args.repeat)] if args.repeat else [])
    )

    failed: list[str] = []
    rows: list[list[str]] = []
    for name in chosen:
        script = HERE / SCRIPTS[name]
        print(f"\n=== {script.name} {' '.join(passthrough)}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script), *passthrough], check=False).returncode
        took = time.perf_counter() - start
        print(f"=== {script.name}: exit {code} after {took:.1f} s", flush=True)
        if code != 0:
            failed.append(name)
            continue
        report = c.REPORT_DIR / f"{script.stem}.json"
        if not report.is_file():
            print(f"=== {script.name} wrote no {report}", flush=True)
            failed.append(name)
            continue
        rows += [
            [f"[{name}] {label}", value, verdict]
            for label, value, verdict in headline(name, json.loads(report.read_text()))
        ]
    if rows:
        c.print_table(
            "headline figures (details in reports/bench/*.json)",
            ["figure", "value", "target"],
            rows,
        )
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()

"""What the remixcheck pytest plugin adds to a pytest session that does not use it.

The plugin loads in every pytest session where remixcheck is installed. This times
`pytest` on a one-test project with the plugin and with `-p no:remixcheck`, interleaved,
taking the difference within each round. Two settings: every installed plugin loaded (what
a user sees; schemathesis' and hypothesis' own plugins dominate and add noise), and the
other third-party plugins disabled (the plugin's own cost, measured cleanly).

    .venv/bin/python bench/bench_pytest_plugin.py [--quick] [--repeat N]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

TARGET = 0.050  # seconds the plugin may add to pytest's start-up
OTHERS_OFF = [
    "-p",
    "no:schemathesis",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:anyio",
    "-p",
    "no:xdist",
]


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, check=True, timeout=120)
    return time.perf_counter() - start


def main() -> None:
    args = c.make_parser(__doc__ or "", default_repeat=15, quick_repeat=5).parse_args()
    rounds = c.repeats(args)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    results = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_one.py").write_text("def test_one():\n    assert True\n", encoding="utf-8")
        for label, extra in (("all plugins", []), ("other plugins off", OTHERS_OFF)):
            samples = c.round_robin(
                {
                    "with": lambda extra=extra: timed([*pytest, *extra], project),
                    "without": lambda extra=extra: timed(
                        [*pytest, *extra, "-p", "no:remixcheck"], project
                    ),
                },
                rounds,
            )
            added = c.Spread.of(
                [a - b for a, b in zip(samples["with"], samples["without"], strict=True)]
            )
            results[label] = {
                "with": c.Spread.of(samples["with"]).to_dict(),
                "without": c.Spread.of(samples["without"]).to_dict(),
                "added": added.to_dict(),
            }
            rows.append(
                [
                    label,
                    c.Spread.of(samples["with"]).fmt(c.ms),
                    c.Spread.of(samples["without"]).fmt(c.ms),
                    added.fmt(c.ms),
                    f"IQR {c.ms(added.q1)}..{c.ms(added.q3)}",
                ]
            )
    c.print_table(
        f"pytest start-up, {rounds} interleaved rounds",
        ["setting", "with remixcheck", "-p no:remixcheck", "added", "spread"],
        rows,
    )
    clean = results["other plugins off"]["added"]["median"]
    print(
        f"\ntarget: the plugin adds < {c.ms(TARGET)}: {c.ms(clean)} -> {c.target(clean < TARGET)}"
    )
    c.write_report(
        "bench_pytest_plugin", {"rounds": rounds, "target_seconds": TARGET, "results": results}
    )


if __name__ == "__main__":
    main()

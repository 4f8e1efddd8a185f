"""Every benchmark runs: bench/run_all.py --smoke runs each script in its smallest mode.

Benchmarks assert no timings (the figures of a smoke run mean nothing); this proves only that
each script still runs to its end and writes its report, so a refactoring that breaks a
benchmark fails the suite instead of the next person who measures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.xdist_group("bench-smoke")
def test_every_benchmark_runs_in_its_smallest_mode(tmp_path: Path) -> None:
    scripts = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    env = {**os.environ, "REMIXCHECK_BENCH_REPORTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for script in scripts:
        report = tmp_path / f"{script}.json"
        assert report.is_file(), f"{script}.py wrote no report"
        assert json.loads(report.read_text(encoding="utf-8"))["benchmark"] == script
    assert "headline figures" in done.stdout

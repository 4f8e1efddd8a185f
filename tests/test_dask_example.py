"""examples/dask_validate.py on a real Dask cluster (two worker processes, loopback only):
its summary is exactly what `remixcheck validate --format json` prints for the same file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest

from remixcheck.traffic import pieces
from tests.conftest import run_cli
from tests.test_validate_parallel import _capture

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "dask_validate.py"


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


def test_the_dask_example_prints_the_cli_summary(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    capture = _capture(tmp_path / "capture.jsonl", 3500)
    assert len(pieces.split(capture, 128_000)) >= 8  # as many partitions
    example = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            str(capture),
            "--vendor",
            "openai",
            "--blocksize",
            "128kB",
            "--scheduler",
            cluster.scheduler_address,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert example.returncode == 0, example.stderr
    cli = run_cli("validate", str(capture), "--vendor", "openai", "--format", "json")
    assert example.stdout == cli.stdout
    report = json.loads(example.stdout)
    assert report["bad_records"] > 50  # the summary has something to get wrong
    assert report["findings"]

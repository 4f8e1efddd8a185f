"""`remixcheck report` and `remixcheck serve` as a user runs them, bad inputs included."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from remixcheck.emulator import FAULTS
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("r")
    done = run_cli("run", "--emulate", "openai", "bifrost", "--report-dir", str(out), cwd=out)
    assert done.returncode == 0, done.stderr
    return out / "results.json"


def test_report_merges_results_side_by_side(results_file: Path, tmp_path: Path) -> None:
    second = tmp_path / "second.json"
    data = json.loads(results_file.read_text(encoding="utf-8"))
    data["targets"] = data["targets"][:1]
    second.write_text(json.dumps(data), encoding="utf-8")
    html = tmp_path / "out" / "compat.html"
    out = run_cli("report", str(results_file), str(second), "-o", str(html))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(html)
    text = html.read_text(encoding="utf-8")
    assert "bifrost-emulator" in text
    assert "2 results files merged" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not a results file (invalid JSON"),
        ('{"hello": 1}', 'not a remixcheck results file (no "schema": "remixcheck/results")'),
        (
            '{"schema": "remixcheck/results", "version": 99}',
            "results file version 99 is not supported",
        ),
    ],
)
def test_report_bad_input_is_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    out = run_cli("report", str(path), "-o", str(tmp_path / "x.html"))
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "x.html").exists()


def test_serve_lists_faults_and_rejects_bad_flags() -> None:
    listed = run_cli("serve", "--vendor", "openai", "--list-faults")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(FAULTS)
    for args, message in [
        (["--vendor", "martian"], "unknown vendor 'martian'"),
        (["--vendor", "openai", "--fault", "nonsense"], "unknown fault(s) nonsense"),
        (["--vendor", "openai", "--port", "70000"], "Invalid value for '--port'"),
    ]:
        out = run_cli("serve", *args)
        assert out.returncode == 2, args
        assert message in out.stderr
        assert "Traceback" not in out.stderr


def test_serve_prints_what_a_client_needs_and_serves_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REMIXCHECK_EMULATOR_API_KEY": "sk-served-key-123"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "remixcheck", "serve", "--vendor", "bifrost", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(3)]
        assert banner[0].strip() == f"remixcheck emulator for bifrost on http://127.0.0.1:{port}"
        assert "sk-served-key-123" not in "".join(banner), (
            "a key from the environment is not echoed"
        )
        source = banner[2].split("source video id:", 1)[1].split()[0]
        assert source.endswith(":openai")
        r = httpx.get(
            f"http://127.0.0.1:{port}/v1/videos/{source}",
            headers={"Authorization": "Bearer sk-served-key-123"},
        )
        assert (r.status_code, r.json()["status"]) == (200, "completed")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    time.sleep(0)

"""Every hostile mode: `run` and `fuzz` end by themselves, exit 1, keep results.json, print no
traceback and stay within bounded memory. Real subprocesses against a real loopback server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import MODES, SOURCE_ID, Recorder, gzip_bomb, hostile_servers

KEY = "sk-hostile-SECRETSECRET-42"
# Far above what a run needs (a few seconds with these timeouts), far below "never ends".
END_WITHIN = 90.0
MAX_RSS_MB = 600  # a 1 GiB gzip bomb decoded in memory would pass this by far
SHORT = [
    "--timeout", "1", "--connect-timeout", "1", "--max-retry-wait", "2", "--max-time", "30",
]  # fmt: skip


SEEN_HOSTILE = Recorder()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, Recorder]]:
    gzip_bomb()  # built once, before any timed run
    with hostile_servers(SEEN_HOSTILE) as s:
        yield s


@dataclass
class Ended:
    code: int
    stdout: str
    stderr: str
    max_rss_mb: float
    seconds: float


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "OPENAI_API_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, "-m", "remixcheck", *args],
        cwd=cwd,
        env=env,
        stdout=(cwd / "stdout.txt").open("wb"),
        stderr=(cwd / "stderr.txt").open("wb"),
    )


def _reap(proc: subprocess.Popen[bytes], cwd: Path, started: float) -> Ended:
    """Wait for the child with wait4, for its own peak RSS; kill it past END_WITHIN."""
    timer = threading.Timer(END_WITHIN, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Ended(
        proc.returncode,
        (cwd / "stdout.txt").read_text(errors="replace"),
        (cwd / "stderr.txt").read_text(errors="replace"),
        usage.ru_maxrss / 1024,
        time.monotonic() - started,
    )


def _cli(args: list[str], cwd: Path) -> Ended:
    started = time.monotonic()
    return _reap(_spawn(args, cwd), cwd, started)


def _command(command: str, base_url: str, reports: Path) -> list[str]:
    common = ["--base-url", base_url, "--vendor", "openai", "--video-id", SOURCE_ID]
    common += ["--report-dir", str(reports), *SHORT]
    if command == "run":
        return ["run", *common, "--poll-timeout", "2", "--poll-interval", "0.1"]
    return ["fuzz", *common, "--max-requests", "40", "--seed", "3"]


def _assert_ended_well(ended: Ended, reports: Path, code: int = 1) -> dict[str, object]:
    assert ended.code == code, (ended.code, ended.stderr[-2000:])
    assert "Traceback" not in ended.stderr + ended.stdout, ended.stderr[-3000:]
    assert ended.max_rss_mb < MAX_RSS_MB, ended.max_rss_mb
    assert not list(reports.glob("*.tmp")), "no temporary file may be left behind"
    data = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert KEY not in json.dumps(data)
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize("command", ["run", "fuzz"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ends_exits_1_and_keeps_results(
    servers: tuple[str, str, Recorder], tmp_path: Path, mode: str, command: str
) -> None:
    reports = tmp_path / "reports"
    ended = _cli(_command(command, f"{servers[0]}/{mode}", reports), tmp_path)
    data = _assert_ended_well(ended, reports)
    [target] = data["targets"]  # type: ignore[index]
    outcomes = {c["outcome"] for c in target["checks"]}
    assert outcomes & {"violation", "error"}, outcomes
    reasons = " ".join(c["reason"] for c in target["checks"])
    if mode in ("never", "silent", "drip", "driphead") and command == "run":
        assert "target unreachable" in reasons
    if mode == "retryhuge" and command == "run":
        assert "rate limited" in reasons
        assert "pass" not in outcomes
    if mode == "pollnan" and command == "run":
        polls = next(c for c in target["checks"] if c["check"] == "lifecycle.polls-valid")
        assert any("openai-poll-after-ms" in f["message"] for f in polls["findings"])


def test_body_problems_are_findings_on_the_exchange(
    servers: tuple[str, str, Recorder], tmp_path: Path
) -> None:
    found = {}
    for mode, keyword in (("deep", "depth"), ("surrogate", "lone-surrogate"), ("gzipgzip", "size")):
        reports = tmp_path / mode
        data = _assert_ended_well(
            _cli(_command("run", f"{servers[0]}/{mode}", reports), tmp_path), reports
        )
        findings = [f for c in data["targets"][0]["checks"] for f in c["findings"]]  # type: ignore[index]
        found[mode] = any(f["keyword"] == keyword for f in findings)
    assert found == {"deep": True, "surrogate": True, "gzipgzip": True}


@pytest.mark.parametrize(
    ("command", "mode"),
    # drip: the stop must break a blocked read; deep: fuzz answers come at once, so the
    # stop lands in Hypothesis's generation, where a KeyboardInterrupt used to be swallowed.
    [("run", "drip"), ("fuzz", "drip"), ("fuzz", "deep")],
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_with_partial_results(
    servers: tuple[str, str, Recorder], tmp_path: Path, command: str, mode: str, sig: signal.Signals
) -> None:
    reports = tmp_path / "reports"
    args = _command(command, f"{servers[0]}/{mode}", reports)
    if command == "fuzz":
        args[args.index("--max-requests") + 1] = "100000"
    args[args.index("--timeout") + 1] = "120"  # only the signal can end it early
    args[args.index("--max-time") + 1] = "600"
    before = len(SEEN_HOSTILE.heads)
    started = time.monotonic()
    proc = _spawn(args, tmp_path)
    while len(SEEN_HOSTILE.heads) == before and proc.poll() is None:
        time.sleep(0.05)  # until a request of this run is in flight
    time.sleep(1 if mode == "deep" else 0)
    proc.send_signal(sig)
    ended = _reap(proc, tmp_path, started)
    data = _assert_ended_well(ended, reports, code=130)
    assert data["interrupted"] is True
    assert "interrupted" in ended.stderr


def test_fuzz_then_run_into_one_report_dir_keeps_both(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    fuzz = _cli(["fuzz", "--emulate", "openai", "--max-requests", "15", "--seed", "1",
                 "--report-dir", str(reports)], tmp_path)  # fmt: skip
    assert fuzz.code in (0, 1), fuzz.stderr[-2000:]
    run = _cli(["run", "--emulate", "openai", "--checks", "negative.*",
                "--report-dir", str(reports)], tmp_path)  # fmt: skip
    assert run.code in (0, 1), run.stderr[-2000:]
    data = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    checks = {c["check"] for c in data["targets"][0]["checks"]}
    assert any(c.startswith("fuzz.") for c in checks), "run must not drop the fuzz results"
    assert any(c.startswith("negative.") for c in checks)
    # the negatives needed a source video: its provider ran, none of them was skipped for it
    assert "source.retrieve" in checks
    skipped = [c for c in data["targets"][0]["checks"] if c["outcome"] == "skipped"]
    assert not [c for c in skipped if "source" in c["reason"]]


@pytest.mark.parametrize("command", ["run", "fuzz"])
@pytest.mark.parametrize("bad", ["file", "results-dir"])
def test_unwritable_report_dir_is_refused_before_any_request(
    servers: tuple[str, str, Recorder], tmp_path: Path, command: str, bad: str
) -> None:
    _, elsewhere, seen = servers
    reports = tmp_path / "reports"
    if bad == "file":
        reports.write_text("not a directory")
    else:
        (reports / "results.json").mkdir(parents=True)
    before = len(seen.heads)
    args = _command(command, elsewhere, reports)
    ended = _cli(args, tmp_path)
    assert ended.code == 2, ended.stderr
    assert len(ended.stderr.strip().splitlines()) == 1, ended.stderr
    assert "Traceback" not in ended.stderr
    assert len(seen.heads) == before, "nothing may be sent before the report dir is checked"

"""`remixcheck proxy` and `remixcheck serve --cassette` as a user runs them: subprocesses, signals, files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from remixcheck.emulator import running_emulator
from tests.conftest import run_cli

KEY = "sk-proxycli-TOPSECRET-0123456789abcdef"
SECRET_PART = "TOPSECRET-0123456789abcdef"


@contextmanager
def _cli_server(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Start a long-running remixcheck command; yield (process, its base URL, lines read so far)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "remixcheck", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        url = ""
        while not url:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"did not start: {proc.stderr.read() if proc.stderr else ''}")
            lines.append(line)
            found = re.search(r" on (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else ""
        yield proc, url, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _stop(proc: subprocess.Popen[str], sig: int) -> tuple[str, str]:
    proc.send_signal(sig)
    assert proc.stdout is not None
    assert proc.stderr is not None
    # Read through the file objects: readline() may hold buffered output communicate() would skip.
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=60)
    return out, err


def _sdk_traffic(
    base_url: str, key: str, source: str, pending: str | None = None
) -> dict[str, Any]:
    import openai

    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key=key, max_retries=0)
    seen: dict[str, Any] = {}
    video = sdk.videos.create(prompt="a calico cat", seconds="8", size="1280x720")
    seen["created"] = video.id
    seen["created_done"] = sdk.videos.poll(video.id, poll_interval_ms=20).status
    remix = sdk.videos.remix(source, prompt="now in snow")
    seen["remix"] = (remix.id, remix.remixed_from_video_id, remix.status)
    seen["remix_done"] = sdk.videos.poll(remix.id, poll_interval_ms=20).status
    seen["source"] = sdk.videos.retrieve(source).status
    return seen


def _no_key_anywhere(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert SECRET_PART not in text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("fault", "sig", "code"), [(None, signal.SIGINT, 0), ("drop-field", signal.SIGTERM, 1)]
)
def test_proxy_judges_records_and_exits_on_signal(
    tmp_path: Path, fault: str | None, sig: int, code: int
) -> None:
    record, reports = tmp_path / "traffic.jsonl", tmp_path / "reports"
    faults = (fault,) if fault else ()
    with (
        running_emulator("openai", api_key=KEY, job_seconds=0.2, faults=faults) as emu,
        _cli_server(
            "proxy",
            "--upstream",
            emu.base_url,
            "--vendor",
            "openai",
            "--port",
            "0",
            "--record",
            str(record),
            "--report-dir",
            str(reports),
        ) as (proc, url, lines),
    ):
        # The remix flow, plus one answer that echoes the key back (an unknown key's error).
        seen = _sdk_traffic(url, KEY, emu.source_video_id)
        httpx.get(
            f"{url}/v1/videos/{emu.source_video_id}",
            headers={"Authorization": f"Bearer {KEY}x"},
        )
        out, err = _stop(proc, sig)
    assert proc.returncode == code, out + err
    assert seen["created_done"] == seen["remix_done"] == "completed"
    stdout = "".join(lines) + out
    assert "point the client's base URL at http://127.0.0.1:" in stdout
    violations = [line for line in stdout.splitlines() if line.startswith("violation ")]
    if fault:
        # One line per exchange with findings, as it went: the missing `object`, pointer and all.
        assert violations, stdout
        assert all("/object" in v for v in violations), stdout
        assert any(v.startswith("violation POST /v1/videos/") for v in violations)
    else:
        assert violations == [], stdout
    results = json.loads((reports / "results.json").read_text())
    target = results["targets"][0]
    assert (target["name"], target["vendor"], target["base_url"]) == (
        "openai-proxy",
        "openai",
        emu.base_url,
    )
    outcomes = {c["check"]: c["outcome"] for c in target["checks"]}
    assert outcomes["proxy.responses"] == ("violation" if fault else "pass")
    assert outcomes["lifecycle.status-forward"] == "pass"
    junit = ET.parse(reports / "junit.xml").getroot()
    assert (int(junit[0].get("failures", "0")) > 0) == bool(fault)
    assert (reports / "compat.html").stat().st_size > 0
    _no_key_anywhere(stdout, err, record.read_text(), *(p.read_text() for p in reports.iterdir()))
    # The recording is what `validate` reads, and judges the same way.
    lines_recorded = record.read_text().splitlines()
    assert len(lines_recorded) == target["proxy"]["recorded"] >= 8
    assert all(
        json.loads(line)["request"]["headers"]["authorization"] == "Bearer sk-proxycli-<redacted>"
        for line in lines_recorded
    )
    checked = run_cli("validate", str(record), "--vendor", "openai")
    assert checked.returncode == code, checked.stdout + checked.stderr


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cassette_replays_a_recording_to_the_sdk_without_a_key(tmp_path: Path) -> None:
    import openai

    record = tmp_path / "cassette.jsonl"
    with running_emulator("openai", api_key=KEY, job_seconds=0.3) as emu:
        source = emu.source_video_id
        with _cli_server(
            "proxy",
            "--upstream",
            emu.base_url,
            "--vendor",
            "openai",
            "--port",
            "0",
            "--record",
            str(record),
            "--report-dir",
            str(tmp_path / "reports"),
        ) as (proc, url, _):
            recorded = _sdk_traffic(url, KEY, source)
            _stop(proc, signal.SIGINT)
    # The vendor is gone; the cassette answers instead, to a client with no real key.
    with _cli_server("serve", "--cassette", str(record), "--port", "0") as (proc, url, lines):
        replayed = _sdk_traffic(url, "sk-ci-has-no-key", source)
        assert replayed == recorded  # same job ids, same statuses, polls served in order
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="sk-ci-has-no-key", max_retries=0)
        with pytest.raises(openai.NotFoundError, match="no recorded exchange"):
            sdk.videos.remix(source, prompt="a prompt that was never recorded")
        out, err = _stop(proc, signal.SIGINT)
    assert "recorded exchanges" in "".join(lines) + out
    assert "no recorded exchange for POST /v1/videos/" in err


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"request": {"method": "GET"}}\n')
    cases = [
        ("proxy", "--upstream", "ftp://example.org", "--vendor", "openai"),
        ("proxy", "--upstream", "http://127.0.0.1:9", "--vendor", "no-such-vendor"),
        (
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--vendor",
            "openai",
            "--record",
            str(tmp_path),
        ),
        ("serve", "--cassette", str(tmp_path / "missing.jsonl")),
        ("serve", "--cassette", str(bad), "--port", "0"),
        ("serve", "--cassette", str(bad), "--vendor", "openai"),
        ("serve",),
    ]
    for args in cases:
        result = run_cli(*args, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert (
            result.stderr.strip().splitlines()[-1].startswith(("remixcheck: error:", "Error:"))
        ), args

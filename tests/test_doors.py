"""What the doors let through, they handle: stdin, long lines, replays the user confirmed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import run_cli
from tests.test_bad_input import GET_CASE


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("authorization") or "")
        body = b'{"error": {"message": "no such video", "type": "invalid_request_error", "param": null, "code": null}}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    seen: ClassVar[list[str]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def _write_case(tmp_path: Path, **changes: object) -> Path:
    data = json.loads(json.dumps(GET_CASE))
    data.update(changes)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_replay_takes_the_key_from_the_vendor_variable_never_the_case(
    tmp_path: Path, recorder: tuple[str, list[str]]
) -> None:
    url, seen = recorder
    case = _write_case(tmp_path, base_url=url, api_key_env="OTHER_SECRET")
    env = {"OPENAI_API_KEY": "sk-vendor-key-0001", "OTHER_SECRET": "sk-other-secret-0002"}
    out = run_cli("replay", str(case), env=env)
    assert out.returncode in (0, 1), out.stderr
    assert seen == ["Bearer sk-vendor-key-0001"]
    out = run_cli("replay", str(case), "--api-key-env", "OTHER_SECRET", env=env)
    assert out.returncode in (0, 1), out.stderr
    assert seen[-1] == "Bearer sk-other-secret-0002"  # only because the command line said so


def test_replay_off_loopback_needs_the_command_line_to_confirm(
    tmp_path: Path, recorder: tuple[str, list[str]]
) -> None:
    url, seen = recorder
    case = _write_case(tmp_path, base_url="https://api.openai.com")
    env = {"OPENAI_API_KEY": "sk-vendor-key-0001"}
    refused = run_cli("replay", str(case), env=env)
    assert refused.returncode == 2
    assert "add --base-url https://api.openai.com" in refused.stderr
    confirmed = run_cli("replay", str(case), "--base-url", url, env=env)
    assert confirmed.returncode in (0, 1), confirmed.stderr
    assert seen == ["Bearer sk-vendor-key-0001"]


def test_replay_emulate_starts_the_emulator_the_case_was_found_on(tmp_path: Path) -> None:
    fuzz = run_cli(
        "fuzz", "--emulate", "openai", "--fault", "accept-empty-prompt", "--max-requests", "60",
        "--seed", "5", "--report-dir", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert fuzz.returncode == 1, fuzz.stdout + fuzz.stderr
    cases = [
        p
        for p in sorted((tmp_path / "fuzz-cases").glob("*.json"))
        if json.loads(p.read_text(encoding="utf-8"))["request"]["description"]
        == "empty prompt (0 characters)"
    ]
    assert cases
    assert json.loads(cases[0].read_text(encoding="utf-8"))["emulator"]["faults"] == [
        "accept-empty-prompt"
    ]
    gone = run_cli("replay", str(cases[0]), cwd=tmp_path)
    assert gone.returncode == 2
    assert "add --emulate" in gone.stderr
    again = run_cli("replay", str(cases[0]), "--emulate", cwd=tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "still fails" in again.stdout


def test_serve_list_faults_needs_no_vendor() -> None:
    out = run_cli("serve", "--list-faults")
    assert out.returncode == 0, out.stderr
    assert "accept-empty-prompt" in out.stdout


def _record(prompt: str) -> str:
    return json.dumps(
        {
            "request": {
                "method": "POST",
                "url": "https://api.openai.com/v1/videos/video_123/remix",
                "headers": {"content-type": "application/json"},
                "body": {"prompt": prompt},
            },
            "response": {"status": 400, "headers": {}, "body": {"nope": True}},
        }
    )


def test_validate_reads_stdin_and_long_first_lines(tmp_path: Path) -> None:
    piped = run_cli(
        "validate", "-", "--vendor", "openai", "--format", "json", stdin=_record("x") + "\n"
    )
    assert piped.returncode == 1, piped.stderr  # validated; the 400 body is a violation
    assert json.loads(piped.stdout)["validated"] == 1
    long_first = tmp_path / "long.jsonl"
    long_first.write_text(_record("y" * 100_000) + "\n" + _record("z") + "\n", encoding="utf-8")
    out = run_cli("validate", str(long_first), "--vendor", "openai", "--format", "json")
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["validated"] == 2
    assert len(out.stdout) < 20_000  # the 100,000-character prompt is never copied whole


def test_validate_keeps_reading_past_a_broken_first_line(tmp_path: Path) -> None:
    capture = tmp_path / "c.jsonl"
    capture.write_text('{"request": broken\n' + _record("a") + "\n", encoding="utf-8")
    out = run_cli("validate", str(capture), "--vendor", "openai", "--format", "json")
    assert out.returncode == 2  # one unreadable record, listed
    report = json.loads(out.stdout)
    assert (report["validated"], report["bad_records"]) == (1, 1)


def test_validate_replaces_lone_surrogates_instead_of_crashing(tmp_path: Path) -> None:
    capture = tmp_path / "s.jsonl"
    capture.write_text(
        _record("\\ud800 snow").replace("\\\\ud800", "\\ud800") + "\n", encoding="utf-8"
    )
    out = run_cli("validate", str(capture), "--vendor", "openai", "--format", "json")
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["validated"] == 1

"""What run and fuzz print and write for a person and for CI, tried through the real CLI.

Root causes, the server's own message, short ids with the full id kept in the evidence,
one fuzz cause label shared by fuzz and replay, deviations explained, `--format json`,
and the Markdown step summary under GitHub Actions.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from remixcheck.contract import resources
from remixcheck.contract.quoting import show
from remixcheck.emulator import running_emulator
from remixcheck.report.markdown import md
from remixcheck.results.display import server_message, short_id, short_ids
from tests.conftest import run_cli

KEY = "sk-READ-supersecret-0a1b2c3d4e5f"
KEY_ENV = "REMIXCHECK_READ_TEST_KEY"
RESULTS_SCHEMA = json.loads(
    (resources.spec_path().parent / "results.schema.json").read_text(encoding="utf-8")
)


def _results(directory: Path) -> dict:
    data = json.loads((directory / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


def test_one_missing_field_is_one_cause_json_on_stdout_and_a_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    out = run_cli(
        "run", "--emulate", "openai", "--fault", "drop-field", "--format", "json",
        "--report-dir", str(tmp_path / "r"),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    stdout = json.loads(out.stdout)  # nothing but the results on stdout
    assert stdout == _results(tmp_path / "r")
    red = [c["check"] for c in stdout["targets"][0]["checks"] if c["outcome"] == "violation"]
    assert len(red) >= 5
    # The human summary goes to stderr: one cause naming every check it turned red.
    assert "1 root cause(s) of" in out.stderr
    assert "/object is missing from the response body" in out.stderr
    assert f"violation in {len(red)} checks" in out.stderr
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n"), "the step summary is appended to, never replaced"
    assert "### remixcheck run" in text
    assert "/object is missing from the response body" in text
    assert all(f"`{c}`" in text for c in red)


def test_fuzz_format_json_and_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "s.md"
    out = run_cli(
        "fuzz", "--emulate", "openai", "--fault", "framework-405", "--max-requests", "150",
        "--seed", "3", "--format", "json", "--report-dir", str(tmp_path / "r"),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data == _results(tmp_path / "r")
    [contract] = [c for c in data["targets"][0]["checks"] if c["check"] == "fuzz.contract"]
    assert contract["outcome"] == "violation"
    assert "error body of 405 is not the error envelope" in out.stderr
    assert "### remixcheck fuzz" in summary.read_text(encoding="utf-8")


def test_the_servers_own_message_on_every_failing_check(tmp_path: Path) -> None:
    out = run_cli(
        "run", "--emulate", "openai", "--fault", "wrong-error-envelope",
        "--checks", "negative.unknown-video", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    said = "404: No such Video object: 'video_remixcheck_unknown_000000'."
    assert f"server said: {said}" in out.stdout
    [check] = [c for c in _results(tmp_path)["targets"][0]["checks"] if c["outcome"] == "violation"]
    assert check["server_message"] == said
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "server said: 404: No such Video object" in junit
    html = (tmp_path / "compat.html").read_text(encoding="utf-8")
    assert "The server said:" in html
    assert "No such Video object: &#39;video_remixcheck_unknown_000000&#39;." in html


def test_deviation_is_explained_once_and_the_deviations_listed(tmp_path: Path) -> None:
    out = run_cli("run", "--emulate", "apifree", "--report-dir", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("deviation: where the target differs from the canonical contract") == 1
    assert "apifree.minimal-remix-response (" in out.stdout
    assert "apifree.json-only (2 checks)" in out.stdout


def test_long_ids_are_short_on_screen_and_whole_in_the_evidence(tmp_path: Path) -> None:
    long_id = "video_" + "bGl0ZWxsbTpjdXN0b21fbGxtX3Byb3ZpZGVyOm9wZW5haTttb2RlbF9pZDpzb3Jh" * 4
    assert len(long_id) > 240
    with running_emulator("openai", api_key=KEY) as emu:
        out = run_cli(
            "run", "--base-url", emu.base_url, "--vendor", "openai", "--api-key-env", KEY_ENV,
            "--video-id", long_id, "--checks", "source.retrieve", "--report-dir", str(tmp_path),
            env={KEY_ENV: KEY},
        )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    prose = [line for line in out.stdout.splitlines() if "curl " not in line]
    assert all(long_id not in line for line in prose)
    assert any(short_id(long_id) in line for line in prose)
    data = _results(tmp_path)
    assert data["targets"][0]["checks"][0]["evidence"][0]["request"]["url"].endswith(long_id)
    html = (tmp_path / "compat.html").read_text(encoding="utf-8")
    assert short_id(long_id) in html
    assert "404: No such Video object" in out.stdout


def test_fuzz_names_a_non_object_body_crash_once_and_replay_agrees(tmp_path: Path) -> None:
    with running_emulator("openai", api_key=KEY, faults=("crash-on-non-object",)) as emu:
        out = run_cli(
            "fuzz", "--base-url", emu.base_url, "--vendor", "openai", "--api-key-env", KEY_ENV,
            "--video-id", emu.source_video_id, "--max-requests", "60", "--seed", "1",
            "--report-dir", str(tmp_path), env={KEY_ENV: KEY},
        )  # fmt: skip
        assert out.returncode == 1, out.stdout + out.stderr
        assert "the JSON body is not an object (0) got 500" in out.stdout
        assert "the video does not exist got 500" not in out.stdout
        cases = [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((tmp_path / "fuzz-cases").glob("*.json"))
        ]
        crashed = [c for c in cases if c["response"]["status"] == 500]
        assert crashed
        for case in crashed:
            label = case["expected"]["cause"]
            assert label.startswith("the JSON body is not an object (")
            [finding] = [f for f in case["findings"] if f["fuzz_check"] == "fuzz.server-error"]
            assert finding["message"] == f"{label} got 500"
            path = tmp_path / "fuzz-cases" / f"{case['id']}.json"
            # The key's variable comes from the command line, never from the case file.
            again = run_cli("replay", str(path), "--api-key-env", KEY_ENV, env={KEY_ENV: KEY})
            assert again.returncode == 1, again.stdout + again.stderr
            assert f"cause: {label}" in again.stdout
            assert f"fuzz.server-error: status: {label} got 500" in again.stdout


def test_short_ids_and_server_message_rules() -> None:
    long_id = "video_" + "x" * 234
    assert short_id(long_id) == f"video_xxxxxxxxxx…xxxxxx ({len(long_id)} chars)"
    assert short_id("video_123") == "video_123"
    assert (
        short_ids(f"source video {long_id} is gone") == f"source video {short_id(long_id)} is gone"
    )
    framework = [{"response": {"status": 405, "body": '{"detail": "Method Not Allowed"}'}}]
    assert server_message(framework) == "405: Method Not Allowed"
    cut = (
        '{"error": {"message": "upstream said no", "type": "x"'
        + " " * 10
        + "... [9000 bytes in all]"
    )
    assert server_message([{"response": {"status": 502, "body": cut}}]) == "502: upstream said no"
    assert server_message([{"response": {"status": 200, "body": "{}"}}]) == ""
    assert md("a|b <script>") == "a\\|b &lt;script&gt;"
    assert show(None) == "null"


def test_plan_as_json_lists_the_new_checks_and_sends_nothing() -> None:
    out = run_cli("run", "--emulate", "openai", "--plan", "--format", "json")
    assert out.returncode == 0, out.stderr
    planned = json.loads(out.stdout)
    checks = {p["check"] for p in planned}
    assert {
        "error-content.param-named",
        "follow.remixed-from",
        "negative.body-null",
        "headers.expected",
    } <= checks
    [ctype] = [p for p in planned if p["check"] == "negative.unsupported-content-type"]
    assert ctype["content_type"] == "text/plain"

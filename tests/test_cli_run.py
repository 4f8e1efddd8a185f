"""`remixcheck run` as a user runs it: a subprocess, real emulators, real files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from remixcheck.contract import resources
from remixcheck.emulator import RunningEmulator, running_emulator
from tests.conftest import run_cli

KEY = "sk-CLIRUN-supersecret-0123456789"


@pytest.fixture(scope="module")
def openai_emulator() -> Iterator[RunningEmulator]:
    with running_emulator("openai", api_key=KEY, job_seconds=0.3) as emu:
        yield emu


def _results_schema() -> dict[str, object]:
    return json.loads((resources.spec_dir() / "results.schema.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_emulate_all_four_writes_reports(tmp_path: Path) -> None:
    out = run_cli("run", "--emulate", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, _results_schema())
    assert [t["vendor"] for t in results["targets"]] == ["openai", "aihubmix", "apifree", "bifrost"]
    suites = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) == sum(len(t["checks"]) for t in results["targets"])
    assert {c.get("classname") for c in cases} == {
        f"remixcheck.{v}-emulator" for v in ("openai", "aihubmix", "apifree", "bifrost")
    }
    assert not suites.findall(".//failure")
    assert "conformance" in out.stdout
    assert "bifrost-emulator (bifrost" in out.stdout


def test_fault_makes_exit_1_with_reproduction(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "openai",
        "--fault",
        "accept-empty-prompt",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "violation negative.empty-prompt" in out.stdout
    assert "reproduce: curl -sS --path-as-is -X POST" in out.stdout
    assert '"Authorization: Bearer $REMIXCHECK_EMULATOR_API_KEY"' in out.stdout
    failures = (
        ET.parse(tmp_path / "junit.xml")
        .getroot()
        .findall(".//testcase[@name='negative.empty-prompt']/failure")
    )
    assert len(failures) == 1


def test_emulate_honours_the_budget(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "openai",
        "--max-billable",
        "1",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    [target] = results["targets"]
    assert (target["max_billable"], target["billable_sent"]) == (1, 1)
    assert any("billable budget used up" in c["reason"] for c in target["checks"])


def test_strict_counts_deviations(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "apifree",
        "--checks",
        "positive.remix-json",
        "--strict",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 1
    out = run_cli(
        "run",
        "--emulate",
        "apifree",
        "--checks",
        "positive.remix-json",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 0


def test_key_never_appears_anywhere(tmp_path: Path, openai_emulator: RunningEmulator) -> None:
    env = {"MY_VENDOR_KEY": KEY}
    args = [
        "--base-url",
        openai_emulator.base_url,
        "--vendor",
        "openai",
        "--api-key-env",
        "MY_VENDOR_KEY",
        "--video-id",
        openai_emulator.source_video_id,
    ]
    out = run_cli("run", *args, "--report-dir", str(tmp_path / "r"), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    plan = run_cli("run", *args, "--plan", env=env, cwd=tmp_path)
    assert plan.returncode == 0
    artifacts = [p for p in (tmp_path / "r").iterdir() if p.is_file()]
    assert {p.name for p in artifacts} >= {"results.json", "junit.xml"}
    for text in [
        out.stdout,
        out.stderr,
        plan.stdout,
        plan.stderr,
        *(p.read_text(encoding="utf-8", errors="replace") for p in artifacts),
    ]:
        assert KEY not in text
        assert "supersecret" not in text
    assert "$MY_VENDOR_KEY" in (tmp_path / "r" / "results.json").read_text(encoding="utf-8")


def test_plan_sends_nothing(openai_emulator: RunningEmulator) -> None:
    before = dict(openai_emulator.state.requests)
    out = run_cli("run", "--base-url", openai_emulator.base_url, "--vendor", "openai", "--plan")
    assert out.returncode == 0, out.stderr
    assert dict(openai_emulator.state.requests) == before
    assert "nothing was sent" in out.stdout
    assert "billable" in out.stdout
    assert "key from $OPENAI_API_KEY" in out.stdout


def test_real_host_plan_is_free_by_default() -> None:
    out = run_cli("run", "--base-url", "https://api.openai.com", "--vendor", "openai", "--plan")
    assert out.returncode == 0, out.stderr
    assert "0 may start a paid job; --max-billable 0" in out.stdout
    assert "skipped: over --max-billable 0" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vendor", "martian", "--base-url", "http://127.0.0.1:9"], "unknown vendor 'martian'"),
        (["--vendor", "openai", "--base-url", "ftp://x"], "not an http(s) URL"),
        (["--vendor", "openai"], "--base-url and --vendor go together"),
        (["--emulate", "--base-url", "http://127.0.0.1:9"], "does not combine"),
        (["--emulate", "--video-id", "video_1"], "does not combine"),
        (["openai"], "vendor names go with --emulate"),
        (["--emulate", "martian"], "unknown vendor 'martian'"),
        (["--emulate", "--fault", "nonsense"], "unknown fault(s) nonsense"),
        (
            ["--fault", "skip-auth", "--vendor", "openai", "--base-url", "http://127.0.0.1:9"],
            "only apply with --emulate",
        ),
        (
            [
                "--vendor",
                "openai",
                "--base-url",
                "http://127.0.0.1:9",
                "--api-key-env",
                "REMIXCHECK_NOT_SET",
            ],
            "REMIXCHECK_NOT_SET is not set",
        ),
        (["--emulate", "--checks", "nothing.*"], "matches no check"),
        (["--max-billable", "-1", "--emulate"], "Invalid value for '--max-billable'"),
        ([], "no targets"),
    ],
)
def test_usage_errors_exit_2_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = run_cli("run", *args, cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert message in out.stderr


def test_unreachable_target_is_error_exit_1(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--base-url",
        "http://127.0.0.1:9",
        "--vendor",
        "openai",
        "--checks",
        "negative.*",
        "--connect-timeout",
        "1",
        "--report-dir",
        str(tmp_path),
        env={"OPENAI_API_KEY": "sk-x"},
        cwd=tmp_path,
    )
    assert out.returncode == 1
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    outcomes = {c["outcome"] for c in results["targets"][0]["checks"]}
    assert "error" in outcomes
    assert "violation" not in outcomes, "an unreachable server is an error, never a violation"


def test_checks_command_lists_catalogue() -> None:
    out = run_cli("checks", "--format", "json")
    assert out.returncode == 0
    items = json.loads(out.stdout)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids))
    assert {
        "positive.remix-json",
        "negative.prompt-too-long",
        "lifecycle.status-forward",
        "compat.remix-json",
    } <= set(ids)
    billing = {i["id"]: i["billing"] for i in items}
    assert billing["positive.remix-json"] == "billable"
    assert billing["invariant.object-video"] == "free"

"""The verdict policy: origins on everything, dialect facts as info, preconditions as no verdict."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from remixcheck.conformance import runner
from remixcheck.conformance.checks.context import Settings
from remixcheck.conformance.targets import Target
from remixcheck.contract import resources
from remixcheck.emulator import RunningEmulator, running_emulator
from remixcheck.results.model import Outcome
from tests.conftest import run_cli

FAST = runner.RunOptions(context=Settings(poll_interval=0.05, poll_timeout=5))
ORIGINS = {"openai-published", "remixcheck-convention", "observation"}


@pytest.fixture(scope="module")
def openai() -> Iterator[RunningEmulator]:
    with running_emulator("openai", job_seconds=0.3) as emu:
        yield emu


def _run(emu: RunningEmulator, video_id: str | None, create: bool = True) -> Any:
    target = Target(
        name="o",
        vendor="openai",
        base_url=emu.base_url,
        api_key_env="K",
        api_key=emu.api_key,
        video_id=video_id,
        max_billable=None,
        emulated=True,
    )
    return runner.run_target(target, FAST)


def _by_id(result: Any) -> dict[str, Any]:
    return {c.check: c for c in result.checks}


def test_a_source_that_is_not_completed_is_a_precondition(openai: RunningEmulator) -> None:
    result = _run(openai, openai.pending_video_id)
    checks = _by_id(result)
    source = checks["source.retrieve"]
    assert source.outcome is Outcome.PRECONDITION
    assert '"in_progress"' in source.reason
    assert "--video-id" in source.reason
    assert not [c for c in result.checks if c.outcome is Outcome.VIOLATION]
    # checks that need the completed source skip with that reason ...
    for cid in ("positive.remix-json", "negative.unknown-field", "invariant.new-id"):
        assert checks[cid].outcome is Outcome.SKIPPED, cid
    assert checks["positive.remix-json"].reason.startswith(
        "needs a completed source video: source video"
    )
    # ... and the ones that do not still judge the server
    for cid in (
        "negative.missing-auth",
        "negative.invalid-key",
        "negative.unknown-video",
        "negative.retrieve-unknown",
        "negative.path-traversal",
        "negative.encoded-slash",
        "negative.empty-prompt",
        "negative.prompt-too-long",
        "negative.malformed-json",
    ):
        assert checks[cid].outcome is Outcome.PASS, (cid, checks[cid].reason, checks[cid].findings)


def test_a_failed_or_unknown_source_shows_the_servers_own_message(openai: RunningEmulator) -> None:
    failed = _by_id(_run(openai, openai.failed_video_id))["source.retrieve"]
    assert failed.outcome is Outcome.PRECONDITION
    assert '"failed"' in failed.reason
    assert "the server says:" in failed.reason
    unknown = _by_id(_run(openai, "video_remixcheck_nothing_here"))["source.retrieve"]
    assert unknown.outcome is Outcome.PRECONDITION
    assert "answered 404" in unknown.reason
    assert "--video-id" in unknown.reason
    assert not [f for f in unknown.findings if f.verdict.value == "violation"]


def test_origins_facts_and_deprecation_in_every_output(tmp_path: Path) -> None:
    out = run_cli(
        "run", "--emulate", "openai", "bifrost", "--report-dir", str(tmp_path), cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(
        results,
        json.loads((resources.spec_dir() / "results.schema.json").read_text(encoding="utf-8")),
    )
    facts = {}
    for t in results["targets"]:
        for c in t["checks"]:
            assert c["origin"] in ORIGINS, c["check"]
            for f in c["findings"]:
                assert f["origin"] in ORIGINS, (c["check"], f)
                if f["origin"] == "remixcheck-convention" and f["verdict"] == "violation":
                    assert f["origin_why"], f
            if c["outcome"] == "info":
                facts[t["vendor"]] = c["fact"]
                assert c["origin"] == "observation"
    assert facts == {"openai": "rejects unknown fields", "bifrost": "ignores unknown fields"}
    # terminal
    assert "dialect negative.unknown-field: rejects unknown fields [observation (" in out.stdout
    assert "dialect negative.unknown-field: ignores unknown fields" in out.stdout
    # JUnit
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    outs = [e.text or "" for e in suites.iter("system-out")]
    assert any("dialect fact: rejects unknown fields" in o for o in outs)
    # HTML: the facts, the origin of each non-passing cell, and the upstream deprecation
    page = (tmp_path / "compat.html").read_text(encoding="utf-8")
    assert "Dialect facts" in page
    assert "ignores unknown fields" in page
    assert "Origin of the rule:" in page
    assert "2026-08-13" in page
    assert "2026-09-24" in page


def test_convention_findings_are_labelled_and_quoted_as_json(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "openai",
        "--fault",
        "wrong-error-envelope",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 1
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    checks = {c["check"]: c for c in results["targets"][0]["checks"]}
    envelope = [
        f for f in checks["negative.malformed-json"]["findings"] if f["verdict"] == "violation"
    ]
    assert envelope
    assert all(f["origin"] == "remixcheck-convention" for f in envelope)
    assert "[our convention (" in out.stdout
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "[origin: our convention (" in junit
    assert not re.search(r"\bNone\b", junit), "JSON null shows as null, never None"


def test_a_32001_character_prompt_is_never_copied_whole(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "openai",
        "--fault",
        "accept-long-prompt",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert "violation negative.prompt-too-long" in out.stdout
    assert "x" * 250 not in out.stdout
    results = (tmp_path / "results.json").read_text(encoding="utf-8")
    for f in (
        f for t in json.loads(results)["targets"] for c in t["checks"] for f in c["findings"]
    ):
        assert len(json.dumps(f)) < 4000, f["message"][:100]


def test_vendors_and_the_openai_profile_say_the_upstream_is_deprecated(tmp_path: Path) -> None:
    out = run_cli("vendors")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("openai: upstream"))
    assert "deprecated since 2026-08-13" in line
    assert "shutdown announced for 2026-09-24" in line
    assert "gateways" in line
    from remixcheck.contract import profiles as vendors

    assert vendors.load("openai").upstream_notice == line.removeprefix("openai: ")
    assert all(not vendors.load(v).upstream_notice for v in vendors.available() if v != "openai")
    # and the HTML report's profile of openai says it too
    out = run_cli("run", "--emulate", "openai", "--report-dir", str(tmp_path), cwd=tmp_path)
    page = (tmp_path / "compat.html").read_text(encoding="utf-8")
    assert "upstream deprecated (deprecated since 2026-08-13" in page

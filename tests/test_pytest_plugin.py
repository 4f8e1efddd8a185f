"""The pytest plugin, exercised with pytester the way a team's CI would use it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from remixcheck.conformance.checks import catalogue
from remixcheck.emulator import RunningEmulator, running_emulator

KEY = "sk-PLUGIN-topsecret-value-777"


@pytest.fixture(scope="module")
def faulty_openai() -> Iterator[RunningEmulator]:
    with running_emulator(
        "openai", api_key=KEY, faults=("accept-empty-prompt",), job_seconds=0.3
    ) as emu:
        yield emu


def _base_url_args(emu: RunningEmulator) -> list[str]:
    return [
        f"--remixcheck-base-url={emu.base_url}",
        "--remixcheck-vendor=openai",
        "--remixcheck-api-key-env=PLUGIN_TEST_KEY",
        f"--remixcheck-video-id={emu.source_video_id}",
    ]


def test_without_options_it_collects_nothing_and_stays_light(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_light():
            heavy = [m for m in ("schemathesis", "uvicorn", "starlette", "jinja2", "openapi_core", "httpx") if m in sys.modules]
            assert heavy == []
        """
    )
    # schemathesis ships a pytest plugin of its own that imports it; this measures ours alone.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:schemathesis")
    result.assert_outcomes(passed=1)
    assert "remixcheck-" in result.stdout.str(), "the plugin is loaded"
    assert "remixcheck/" not in result.stdout.str()


def test_items_are_target_x_check_with_stable_ids(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--remixcheck-emulate=openai,bifrost", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if line.startswith("remixcheck/")]
    expected = [
        f"remixcheck/{t}::{c.id}"
        for t in ("openai-emulator", "bifrost-emulator")
        for c in catalogue()
    ]
    assert ids == expected
    assert f"{len(expected)} tests collected" in result.stdout.str()


def test_outcomes_against_a_faithful_dialect(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--remixcheck-emulate=bifrost", "-rxs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0
    assert outcomes["xfailed"] == 25, "documented deviations are xfails"
    assert "documented deviation: bifrost.error-envelope" in result.stdout.str()
    # a dialect fact (bifrost ignores unknown fields) passes, even under --remixcheck-strict
    strict = pytester.runpytest("--remixcheck-emulate=bifrost", "--remixcheck-strict")
    assert strict.parseoutcomes()["failed"] == 25


def test_k_and_deselect_select_what_runs(pytester: pytest.Pytester, tmp_path: Path) -> None:
    report = tmp_path / "r" / "compat.html"
    result = pytester.runpytest(
        "--remixcheck-emulate=openai",
        "-k",
        "negative and prompt",
        "--deselect",
        "remixcheck/openai-emulator::negative.non-string-prompt",
        f"--remixcheck-report={report}",
    )
    result.assert_outcomes(passed=3)
    data = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
    ran = [c["check"] for c in data["targets"][0]["checks"]]
    # The source video the negatives send to is checked first, as their prerequisite.
    assert ran == [
        "source.retrieve",
        "negative.empty-prompt",
        "negative.missing-prompt",
        "negative.prompt-too-long",
    ]
    assert report.read_text(encoding="utf-8").lower().startswith("<!doctype html>")


def test_violation_fails_readably_without_the_key(
    pytester: pytest.Pytester, faulty_openai: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGIN_TEST_KEY", KEY)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(
        *_base_url_args(faulty_openai), "-k", "empty-prompt or missing-auth", f"--junitxml={junit}"
    )
    # compat.missing-auth matches too, and is skipped: OpenAI has no compatibility route.
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    out = result.stdout.str()
    assert "openai / negative.empty-prompt: violation" in out
    assert "expected status 400, got 200" in out
    assert '"Authorization: Bearer $PLUGIN_TEST_KEY"' in out
    assert KEY not in out
    root = ET.parse(junit).getroot()
    [failure] = root.findall(".//testcase[@name='negative.empty-prompt']/failure")
    assert (
        root.find(".//testcase[@name='negative.empty-prompt']").get("classname")
        == "remixcheck.openai"
    )  # type: ignore[union-attr]
    assert "expected status 400" in (failure.get("message") or "") + (failure.text or "")
    assert KEY not in junit.read_text(encoding="utf-8")


def test_k_and_lf_never_turn_a_failure_into_a_skip(
    pytester: pytest.Pytester, faulty_openai: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGIN_TEST_KEY", KEY)
    no_source = [a for a in _base_url_args(faulty_openai) if "video-id" not in a]
    first = pytester.runpytest(*no_source, "-k", "empty-prompt and negative")
    first.assert_outcomes(failed=1)  # the source it needs is created, not skipped for
    again = pytester.runpytest(*no_source, "--lf")
    again.assert_outcomes(failed=1)
    assert "expected status 400, got 200" in again.stdout.str()


def test_budget_skip_and_sharing_across_xdist_workers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_emulator("openai", api_key=KEY, job_seconds=0.3) as emu:
        monkeypatch.setenv("PLUGIN_TEST_KEY", KEY)
        report = pytester.path / "out" / "compat.html"
        result = pytester.runpytest_subprocess(
            *_base_url_args(emu),
            "--remixcheck-max-billable=3",
            "-n",
            "2",
            "-rs",
            f"--remixcheck-report={report}",
        )
        outcomes = result.parseoutcomes()
        assert outcomes.get("failed", 0) == 0
        assert "billable budget used up (3 of --max-billable 3)" in result.stdout.str()
        assert emu.state.billable_jobs <= 3, "the budget is shared by the workers, not multiplied"
        data = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
        assert [t["billable_sent"] for t in data["targets"]] == [3]
        assert KEY not in result.stdout.str() + report.read_text(encoding="utf-8")


def test_xdist_runs_each_target_once_and_merges(pytester: pytest.Pytester) -> None:
    report = pytester.path / "x" / "compat.html"
    single = pytester.runpytest_subprocess("--remixcheck-emulate=openai,apifree").parseoutcomes()
    result = pytester.runpytest_subprocess(
        "--remixcheck-emulate=openai,apifree", "-n", "2", f"--remixcheck-report={report}"
    )
    assert result.parseoutcomes() == single
    data = json.loads((report.parent / "results.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in data["targets"]] == ["openai-emulator", "apifree-emulator"]
    # One run per target: the billable count equals a plain run's, not twice it.
    assert [t["billable_sent"] for t in data["targets"]] == [14, 15]


def test_fixtures_and_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.mark.remixcheck(vendor="bifrost")
        def test_bifrost_dialect(remixcheck_emulator, remixcheck_contract):
            emu = remixcheck_emulator
            assert emu.source_video_id.endswith(":openai")
            with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}) as c:
                r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"})
            result = remixcheck_contract.validate(r)
            assert result.verdict.value == "deviation"

        @pytest.mark.remixcheck(vendor="openai", faults=["wrong-enum"])
        def test_fault_is_caught(remixcheck_emulator, remixcheck_contract):
            emu = remixcheck_emulator
            with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}) as c:
                r = c.get(f"/v1/videos/{emu.source_video_id}")
            with pytest.raises(AssertionError) as info:
                remixcheck_contract.validate(r)
            assert "/status" in str(info.value)
            assert "contract finding(s) for GetVideo under openai" in str(info.value)

        @pytest.mark.parametrize("remixcheck_emulator", ["apifree", {"vendor": "aihubmix"}], indirect=True)
        def test_indirect(remixcheck_emulator):
            assert remixcheck_emulator.vendor in ("apifree", "aihubmix")

        def test_strict_and_requests_style(remixcheck_emulator, remixcheck_contract):
            with httpx.Client(base_url=remixcheck_emulator.base_url) as c:
                r = c.get("/v1/models")
            with pytest.raises(AssertionError, match="not a remix API request"):
                remixcheck_contract.validate(r)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=5)


def test_bad_options_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--remixcheck-base-url=http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--remixcheck-base-url needs --remixcheck-vendor" in result.stderr.str()
    result = pytester.runpytest("--remixcheck-emulate=martian")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown vendor 'martian'" in result.stderr.str()


def test_config_targets_and_bad_config(
    pytester: pytest.Pytester, faulty_openai: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUGIN_TEST_KEY", KEY)
    pytester.makefile(
        ".toml",
        remixcheck=(
            f'[[targets]]\nname = "staging"\nvendor = "openai"\nbase_url = "{faulty_openai.base_url}"\n'
            f'api_key_env = "PLUGIN_TEST_KEY"\nvideo_id = "{faulty_openai.source_video_id}"\n'
        ),
    )
    result = pytester.runpytest("--remixcheck-config", "-k", "empty-prompt")
    result.assert_outcomes(failed=1)
    assert "staging / negative.empty-prompt: violation" in result.stdout.str()
    missing = pytester.runpytest("--remixcheck-config=nowhere.toml")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "nowhere.toml: config file not found" in missing.stderr.str()

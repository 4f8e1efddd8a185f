"""Conformance runs against the emulators: expected verdicts, stability, plan, budget, config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remixcheck.conformance import runner
from remixcheck.conformance.checks import catalogue
from remixcheck.conformance.checks.context import Settings
from remixcheck.conformance.targets import Target, make_target, targets_from_config
from remixcheck.contract import profiles as vendors
from remixcheck.emulator import EMULATED_VENDORS, RunningEmulator, running_emulator
from remixcheck.errors import RemixcheckError, UsageError
from remixcheck.results.model import Outcome
from tests.conftest import DATA, StepClock

EXPECTED = yaml.safe_load((DATA / "expected_outcomes.yaml").read_text(encoding="utf-8"))
# Polls as fast as the emulators allow: their clock (below) moves with requests, not time.
FAST = runner.RunOptions(
    context=Settings(poll_interval=0.01, max_poll_interval=0.01, poll_timeout=20)
)


def _target(emu: RunningEmulator, **overrides: Any) -> Target:
    fields: dict[str, Any] = {
        "name": emu.vendor,
        "vendor": emu.vendor,
        "base_url": emu.base_url,
        "api_key_env": "REMIXCHECK_TEST_KEY",
        "api_key": emu.api_key,
        "video_id": emu.source_video_id,
        "max_billable": None,
        "emulated": True,
    }
    fields.update(overrides)
    return Target(**fields)


def _outcomes(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in result.checks:
        if c.outcome is Outcome.DEVIATION:
            out[c.check] = {"deviation": c.deviations}
        elif c.outcome is Outcome.INFO:
            out[c.check] = {"info": c.fact}
        elif c.outcome is not Outcome.PASS:
            out[c.check] = c.outcome.value
    return out


@pytest.fixture(scope="module", params=EMULATED_VENDORS)
def emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    # A job spends 20% of job_seconds queued: on a wall clock, a loaded machine lets the first
    # poll miss it (and apifree's progress-when-available with it). On a clock that moves
    # 8 ms per request, the job is queued for its next 10 requests and done after 50.
    with running_emulator(request.param, job_seconds=0.4, clock=StepClock(0.008)) as emu:
        yield emu


def test_expected_verdicts_and_stable(emulator: RunningEmulator) -> None:
    target = _target(emulator)
    first = runner.run_target(target, FAST)
    assert _outcomes(first) == EXPECTED[emulator.vendor]
    second = runner.run_target(target, FAST)
    assert _outcomes(second) == _outcomes(first), "verdicts must be stable from run to run"
    assert [c.check for c in first.checks] == [c.id for c in catalogue()]
    assert not [c for c in first.checks if c.outcome in (Outcome.VIOLATION, Outcome.ERROR)]


def test_exactly_the_documented_deviations(emulator: RunningEmulator) -> None:
    """Every deviation with a matcher is observed in a run, and nothing undocumented is."""
    result = runner.run_target(_target(emulator), FAST)
    observed = {d for c in result.checks for d in c.deviations}
    profile = vendors.load(emulator.vendor)
    # Request-side deviations describe what the vendor accepts; the request tests of the
    # emulator prove those, a conformance run only judges responses.
    response_side = {
        d.id for d in profile.deviations if d.match and any(m.where != "request" for m in d.match)
    }
    if emulator.vendor == "aihubmix":
        response_side.discard("aihubmix.quota-403")  # needs an exhausted quota, see test_emulator
    assert observed == response_side


def test_plan_lists_every_request_and_sends_nothing(emulator: RunningEmulator) -> None:
    before = sum(emulator.state.requests.values())
    planned = runner.plan([_target(emulator)], FAST)
    assert sum(emulator.state.requests.values()) == before
    checks_with_requests = {c.id for c in catalogue() if c.requests}
    assert {p.check for p in planned} == checks_with_requests
    billing = {p.check: p.billing for p in planned}
    assert billing["positive.remix-json"] == "billable"
    assert billing["negative.prompt-too-long"] == "may-bill"
    assert billing["negative.missing-auth"] == "free"
    assert all("{source}" not in p.path for p in planned), "the given video id fills the plan"


def test_budget_caps_billable_requests_at_the_server(emulator: RunningEmulator) -> None:
    before = emulator.state.requests.copy()
    result = runner.run_target(_target(emulator, max_billable=2), FAST)
    sent_posts = sum(
        n - before.get(route, 0)
        for route, n in emulator.state.requests.items()
        if route.startswith("POST")
    )
    free_posts = sum(
        1
        for c in catalogue()
        for r in c.requests
        if r.method == "POST"
        and r.billing == "free"
        and (not r.compat or vendors.load(emulator.vendor).compat_base_paths)
    )
    assert result.billable_sent == 2
    assert sent_posts <= 2 + free_posts
    skipped = [c for c in result.checks if c.outcome is Outcome.SKIPPED and "budget" in c.reason]
    assert skipped, "checks over the budget are skipped with the reason"
    assert "raise --max-billable" in skipped[0].reason


def test_non_loopback_defaults_to_zero_billable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIXCHECK_TEST_KEY", "sk-test")
    target = make_target(
        name="real",
        vendor="openai",
        base_url="https://api.openai.com",
        api_key_env="REMIXCHECK_TEST_KEY",
        video_id=None,
        max_billable=None,
    )
    assert target.max_billable == 0
    planned = runner.plan([target], FAST)
    paid = [p for p in planned if p.billing != "free"]
    assert paid
    assert all(p.skipped for p in paid)
    assert not [p for p in planned if p.billing == "free" and p.skipped and "budget" in p.skipped]
    local = make_target(
        name="local",
        vendor="openai",
        base_url="http://127.0.0.1:9",
        api_key_env="REMIXCHECK_TEST_KEY",
        video_id=None,
        max_billable=None,
    )
    assert local.max_billable is None


def test_bad_targets_are_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMIXCHECK_UNSET_KEY", raising=False)
    common = {"name": "t", "vendor": "openai", "video_id": None, "max_billable": None}
    with pytest.raises(UsageError, match="REMIXCHECK_UNSET_KEY is not set"):
        make_target(base_url="http://127.0.0.1:9", api_key_env="REMIXCHECK_UNSET_KEY", **common)
    monkeypatch.setenv("K", "sk-x")
    for url, message in [
        ("ftp://host", "not an http"),
        ("http://user:pw@host", "credentials"),
        ("http://host?x=1", "query"),
        ("http://host:99999", "invalid port"),
        ("not a url", "not an http"),
    ]:
        with pytest.raises(UsageError, match=message):
            make_target(base_url=url, api_key_env="K", **common)
    with pytest.raises(UsageError, match="not in Bifrost's format"):
        make_target(
            base_url="http://127.0.0.1:9",
            api_key_env="K",
            **{**common, "vendor": "bifrost", "video_id": "video_1"},
        )
    with pytest.raises(UsageError, match="matches no check"):
        runner.select(["nothing.*"])


def test_config_file_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_KEY", "sk-a")
    monkeypatch.setenv("B_KEY", "sk-b")
    (tmp_path / "remixcheck.toml").write_text(
        '[[targets]]\nname = "a"\nvendor = "openai"\nbase_url = "http://127.0.0.1:1"\napi_key_env = "A_KEY"\nvideo_id = "video_1"\n\n'
        '[[targets]]\nname = "b"\nvendor = "bifrost"\nbase_url = "https://gw.example"\napi_key_env = "B_KEY"\nmax_billable = 3\n',
        encoding="utf-8",
    )
    a, b = targets_from_config(None, tmp_path)
    assert (a.name, a.vendor, a.video_id, a.max_billable, a.api_key) == (
        "a",
        "openai",
        "video_1",
        None,
        "sk-a",
    )
    assert (b.vendor, b.max_billable) == ("bifrost", 3)
    [only] = targets_from_config(None, tmp_path, only=("b",))
    assert only.name == "b"
    with pytest.raises(UsageError, match="no target named c"):
        targets_from_config(None, tmp_path, only=("c",))
    pyproject = tmp_path / "p" / "pyproject.toml"
    pyproject.parent.mkdir()
    pyproject.write_text(
        '[tool.remixcheck]\ntargets = [{name = "x", vendor = "apifree", base_url = "http://127.0.0.1:2", api_key_env = "A_KEY"}]\n',
        encoding="utf-8",
    )
    [x] = targets_from_config(None, pyproject.parent)
    assert x.vendor == "apifree"
    # Windows editors save a byte order mark first: the file is still TOML.
    pyproject.write_bytes(b"\xef\xbb\xbf" + pyproject.read_bytes())
    [x] = targets_from_config(None, pyproject.parent)
    assert x.vendor == "apifree"
    bad = tmp_path / "bad.toml"
    for text, message in [
        ("targets = [", "invalid TOML"),
        ("x = 1", r"expected one or more \[\[targets\]\]"),
        ('[[targets]]\nname = "a"\nvendor = "openai"\n', "base_url is required"),
        (
            '[[targets]]\nname = "a"\nvendor = "openai"\nbase_url = "http://h"\nkey = "sk-oops"\n',
            "unknown key",
        ),
        (
            '[[targets]]\nname = "a"\nvendor = "nope"\nbase_url = "http://h"\napi_key_env = "A_KEY"\n',
            "unknown vendor",
        ),
    ]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(RemixcheckError, match=message):
            targets_from_config(bad, tmp_path)


def test_all_four_emulators_under_ten_seconds() -> None:
    import time

    started = time.monotonic()
    with runner.emulated_targets([]) as targets:
        result = runner.run(targets, runner.RunOptions(context=Settings(poll_interval=0.1)))
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"a run of all four emulators took {elapsed:.1f} s"
    assert not result.failing()
    assert {t.vendor for t in result.targets} == {"openai", "aihubmix", "apifree", "bifrost"}


def test_custom_profile_file_documents_a_deviation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team's own gateway profile, given by path, explains what its gateway does on purpose."""
    from remixcheck.contract import resources

    data = yaml.safe_load((resources.vendors_dir() / "openai.yaml").read_text(encoding="utf-8"))
    data["id"] = "mygateway"
    data["deviations"] = [
        {
            "id": "mygateway.empty-prompt-allowed",
            "reason": "Empty prompts re-run the source prompt.",
            "source": "internal ADR-12",
            "match": [{"check": "negative.empty-prompt"}],
        }
    ]
    profile = tmp_path / "mygateway.yaml"
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("MYGW_KEY", "unused")
    with running_emulator("openai", faults=("accept-empty-prompt",), job_seconds=0.3) as emu:
        target = make_target(
            name="gw",
            vendor=str(profile),
            base_url=emu.base_url,
            api_key_env="MYGW_KEY",
            video_id=emu.source_video_id,
            max_billable=None,
        )
        target.api_key = emu.api_key
        result = runner.run_target(
            target, runner.RunOptions(checks=("source.retrieve", "negative.empty-prompt"))
        )
    assert result.vendor == "mygateway"
    outcomes = {c.check: c for c in result.checks}
    assert outcomes["negative.empty-prompt"].outcome is Outcome.DEVIATION
    assert outcomes["negative.empty-prompt"].deviations == ["mygateway.empty-prompt-allowed"]


def test_omits_empty_cannot_excuse_a_missing_value_that_must_be_set() -> None:
    """Bifrost documents omitting *empty* fields; a completed job's completed_at is never empty."""
    options = runner.RunOptions(
        checks=("source.retrieve", "positive.remix-json", "lifecycle.*"),
        context=Settings(poll_interval=0.05, poll_timeout=10),
    )
    with running_emulator("bifrost", job_seconds=0.3, faults=("drop-field:completed_at",)) as emu:
        result = runner.run_target(_target(emu), options)
    terminal = next(c for c in result.checks if c.check == "lifecycle.terminal-fields")
    assert terminal.outcome is Outcome.VIOLATION, terminal.findings
    [finding] = [f for f in terminal.findings if f.pointer == "/completed_at"]
    assert (finding.actual, finding.deviation) == ("absent", None)

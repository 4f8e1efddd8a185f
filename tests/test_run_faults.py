"""Every injectable emulator fault turns the right conformance check red, on every vendor it applies to."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from remixcheck.conformance import runner
from remixcheck.conformance.checks.context import Settings
from remixcheck.conformance.targets import Target
from remixcheck.contract import resources
from remixcheck.emulator import FAULT_SPECS, running_emulator
from remixcheck.results.model import Outcome

# The checks (any one suffices) each fault must turn into a violation. apifree's remix
# response documents no remixed_from_video_id, so there the retrieve polls catch it.
CAUGHT_BY: dict[str, str | tuple[str, ...]] = {
    "drop-field": "positive.remix-json",
    "wrong-enum": "source.retrieve",
    "string-progress": "lifecycle.polls-valid",
    "null-id": "invariant.new-id",
    "no-remixed-from": ("invariant.remixed-from", "lifecycle.same-job"),
    "wrong-content-type": "positive.remix-json",
    "remix-returns-201": "positive.remix-json",
    "status-500-on-remix": "positive.remix-json",
    "wrong-error-envelope": "negative.unknown-video",
    "skip-auth": "negative.missing-auth",
    "accept-empty-prompt": "negative.empty-prompt",
    "accept-long-prompt": "negative.prompt-too-long",
    "ignore-not-completed": "negative.remix-not-completed",
    "progress-decreases": "lifecycle.progress-monotonic",
    "status-regresses": "lifecycle.status-forward",
    "null-param": "error-content.param-named",
    "status-as-code": "error-content.code-not-status",
    "upstream-json-message": "error-content.message-not-json",
    "foreign-id-in-message": "error-content.message-ids",
    "foreign-remixed-from": "follow.remixed-from",
    "crash-on-non-object": ("negative.body-zero", "negative.body-array", "negative.body-null"),
    "ignore-content-type": "negative.unsupported-content-type",
    "drop-poll-after": "headers.expected",
}
# Faults no catalogue request shows; the fuzz catches them (tests/test_fuzz_faults.py).
FUZZ_ONLY = {"framework-405"}
PREREQUISITES = ("source.retrieve", "positive.remix-json")
CASES = [
    pytest.param(fault, vendor, id=f"{fault}-{vendor}")
    for fault, spec in FAULT_SPECS.items()
    for vendor in spec.vendors
    if fault not in FUZZ_ONLY
]


def test_every_fault_has_a_catching_check() -> None:
    assert set(CAUGHT_BY) | FUZZ_ONLY == set(FAULT_SPECS)


def _gateway_in_front_of(vendor: str, directory: Path) -> str:
    """A profile of a gateway serving `vendor`'s dialect that must pass its poll header on."""
    profile = yaml.safe_load(
        (resources.vendors_dir() / f"{vendor}.yaml").read_text(encoding="utf-8")
    )
    profile["passthrough_headers"] = [profile["polling"]["poll_after_header"]]
    path = directory / f"{profile['id']}.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return str(path)


# A dropped header is a violation where the profile says the header passes through (a
# gateway); where only the vendor's habit says so, it is a dialect fact (see below).
PROFILE_FOR = {"drop-poll-after": _gateway_in_front_of}


@pytest.mark.parametrize(("fault", "vendor"), CASES)
def test_fault_turns_its_check_red(fault: str, vendor: str, tmp_path: Path) -> None:
    caught_by = CAUGHT_BY[fault]
    wanted = (caught_by,) if isinstance(caught_by, str) else caught_by
    patterns = tuple("lifecycle.*" if c.startswith("lifecycle") else c for c in wanted)
    options = runner.RunOptions(
        checks=(*PREREQUISITES, *patterns), context=Settings(poll_interval=0.05, poll_timeout=10)
    )
    with running_emulator(vendor, job_seconds=0.3, faults=(fault,)) as emu:
        target = Target(
            name=vendor,
            vendor=PROFILE_FOR[fault](vendor, tmp_path) if fault in PROFILE_FOR else vendor,
            base_url=emu.base_url,
            api_key_env="K",
            api_key=emu.api_key,
            video_id=emu.source_video_id,
            emulated=True,
        )
        result = runner.run_target(target, options)
    outcomes = {c.check: c for c in result.checks}
    red = [c for c in wanted if outcomes[c].outcome is Outcome.VIOLATION]
    assert red, {
        c: (outcomes[c].outcome, outcomes[c].reason, [f.message for f in outcomes[c].findings])
        for c in wanted
    }
    assert any(f.verdict.value == "violation" for f in outcomes[red[0]].findings)


def test_a_missing_poll_hint_is_a_dialect_fact_of_the_vendor_itself() -> None:
    """OpenAI's document declares no openai-poll-after-ms (its SDK falls back to 1 s): a
    server without it is told so, never failed."""
    options = runner.RunOptions(
        checks=(*PREREQUISITES, "headers.expected"),
        context=Settings(poll_interval=0.05, poll_timeout=10),
    )
    with running_emulator("openai", job_seconds=0.3, faults=("drop-poll-after",)) as emu:
        target = Target(
            name="openai",
            vendor="openai",
            base_url=emu.base_url,
            api_key_env="K",
            api_key=emu.api_key,
            video_id=emu.source_video_id,
            emulated=True,
        )
        result = runner.run_target(target, options)
    headers = next(c for c in result.checks if c.check == "headers.expected")
    assert headers.outcome is Outcome.INFO, (headers.outcome, headers.reason)
    assert headers.fact == "sends no openai-poll-after-ms"


NEW_CHECKS = (
    "error-content.*",
    "follow.remixed-from",
    "negative.body-*",
    "negative.unsupported-content-type",
    "headers.expected",
)


@pytest.mark.parametrize("vendor", ["openai", "aihubmix", "apifree", "bifrost"])
def test_new_checks_stay_green_on_faithful_emulators(vendor: str) -> None:
    """The catalogue's newer checks raise no violation against the faithful emulators."""
    options = runner.RunOptions(
        checks=(*PREREQUISITES, *NEW_CHECKS), context=Settings(poll_interval=0.05, poll_timeout=10)
    )
    with running_emulator(vendor, job_seconds=0.3) as emu:
        target = Target(
            name=vendor,
            vendor=vendor,
            base_url=emu.base_url,
            api_key_env="K",
            api_key=emu.api_key,
            video_id=emu.source_video_id,
            emulated=True,
        )
        result = runner.run_target(target, options)
    bad = {
        c.check: c.reason for c in result.checks if c.outcome in (Outcome.VIOLATION, Outcome.ERROR)
    }
    assert not bad
    ran = {c.check for c in result.checks if c.outcome is not Outcome.SKIPPED}
    assert {"error-content.message-ids", "negative.body-null", "follow.remixed-from"} <= ran

"""remixcheck against a real LiteLLM proxy on loopback, in front of the OpenAI emulator.

Runs wherever LiteLLM's own virtual environment exists ($REMIXCHECK_LITELLM_VENV, default
.venv-litellm/, which .ci/run creates); skipped with the reason elsewhere. Every outbound
request of the proxy goes to a loopback trap that refuses it (tests/litellm_proxy.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remixcheck.contract import profiles as vendors
from remixcheck.emulator import RunningEmulator, running_emulator
from tests import litellm_proxy
from tests.conftest import run_cli

pytestmark = [
    pytest.mark.skipif(
        litellm_proxy.missing_reason() is not None, reason=litellm_proxy.missing_reason() or ""
    ),
    # One proxy for the module: under xdist every test of it runs on the same worker.
    pytest.mark.xdist_group("litellm"),
]

UPSTREAM_KEY = "sk-UPSTREAM-litellm-test-0123456789"
PROFILE = vendors.load("litellm")


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningEmulator]:
    with running_emulator("openai", api_key=UPSTREAM_KEY, job_seconds=0.4) as emu:
        yield emu


@pytest.fixture(scope="module")
def proxy(upstream: RunningEmulator) -> Iterator[litellm_proxy.Proxy]:
    with litellm_proxy.running_litellm(upstream.base_url, upstream.api_key) as running:
        yield running
        # Whatever the tests did: nothing got past the trap, and no key reached it.
        _assert_trap_clean(running)


def _assert_trap_clean(running: litellm_proxy.Proxy) -> None:
    for raw in running.trap.received:
        assert running.master_key.encode() not in raw
        assert UPSTREAM_KEY.encode() not in raw
        assert b"Authorization" not in raw
        assert b"authorization" not in raw
        # LiteLLM's only outbound attempt is the default provider, through a CONNECT tunnel
        # that the trap refuses: the request (and any key) would only follow inside it.
        assert raw.startswith(b"CONNECT api.openai.com:443 "), raw[:200]


def _cli(proxy: litellm_proxy.Proxy, *args: str, timeout: float = 300) -> Any:
    return run_cli(
        *args,
        "--base-url",
        proxy.base_url,
        "--api-key-env",
        "LITELLM_TEST_KEY",
        env={"LITELLM_TEST_KEY": proxy.master_key},
        timeout=timeout,
    )


def _target(report_dir: Path) -> dict[str, Any]:
    data = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    assert len(data["targets"]) == 1
    return data["targets"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def litellm_run(
    proxy: litellm_proxy.Proxy, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("litellm-run")
    proc = _cli(
        proxy,
        "run",
        "--vendor",
        "litellm",
        "--name",
        "litellm-proxy",
        "--poll-interval",
        "0.2",
        "--report-dir",
        str(out),
    )
    return proc, _target(out), out


def test_run_as_litellm_shows_only_documented_deviations_and_known_bugs(
    litellm_run: tuple[Any, dict[str, Any], Path],
    upstream: RunningEmulator,
    proxy: litellm_proxy.Proxy,
) -> None:
    proc, target, out = litellm_run
    assert proc.returncode == 1, proc.stderr  # LiteLLM has real bugs; they stay violations
    assert "Traceback" not in proc.stderr
    assert target["name"] == "litellm-proxy"
    assert target["vendor"] == "litellm"
    checks = {c["check"]: c for c in target["checks"]}
    # Nothing skipped for a missing feature, nothing ended in error.
    assert not [c for c in checks.values() if c["outcome"] in ("skipped", "error")], [
        (c["check"], c["reason"]) for c in checks.values() if c["outcome"] in ("skipped", "error")
    ]
    # The run made its own source video (a create with the profile's model), and it is a
    # LiteLLM id wrapping a job of the upstream.
    source = target["source_video_id"]
    assert PROFILE.video_id.native(source) in upstream.state.jobs
    assert upstream.state.jobs[PROFILE.video_id.native(source)].model == "sora-2"
    # Checks that used to skip against a gateway now run.
    for ran in ("negative.bare-video-id", "compat.remix-json", "compat.retrieve-source"):
        assert checks[ran]["outcome"] != "skipped"
    # Every violation is a LiteLLM bug the profile names; every deviation is documented.
    unexplained = [
        c
        for c in checks.values()
        if c["outcome"] == "violation" and not PROFILE.known_bug(c["check"])
    ]
    assert not unexplained, [(c["check"], c["findings"][:2]) for c in unexplained]
    seen = {d for c in checks.values() for d in c["deviations"]}
    assert seen <= {d.id for d in PROFILE.deviations}
    # It drops a remix field it does not know instead of refusing it: the body is open, so
    # accepting it is no deviation; what stays red is only the Video it answers, which lacks
    # prompt (litellm.bug.drops-prompt).
    unknown_field = checks["negative.unknown-field"]
    assert unknown_field["deviations"] == ["litellm.usage-field"]
    assert {f["pointer"] for f in unknown_field["findings"] if f["verdict"] == "violation"} == {
        "/prompt"
    }
    assert {
        "litellm.no-db-key-check",
        "litellm.framework-errors",
        "litellm.usage-field",
    } <= seen
    bugs = {
        PROFILE.known_bug(c["check"]).id for c in checks.values() if c["outcome"] == "violation"
    }  # type: ignore[union-attr]
    assert {
        "litellm.bug.drops-prompt",
        "litellm.bug.remixed-from-upstream-id",
        "litellm.bug.unmanaged-id-to-default-provider",
        "litellm.bug.dot-segment-500",
    } <= bugs
    # The key never shows, although the proxy's answers are full of its headers.
    for text in (
        proc.stdout,
        proc.stderr,
        *(p.read_text("utf-8") for p in out.iterdir() if p.is_file()),
    ):
        assert proxy.master_key not in text


def test_judged_as_openai_the_gateway_fails_on_its_differences(
    proxy: litellm_proxy.Proxy, tmp_path: Path
) -> None:
    proc = _cli(
        proxy, "run", "--vendor", "openai", "--poll-interval", "0.2", "--report-dir", str(tmp_path)
    )
    assert proc.returncode == 1
    target = _target(tmp_path)
    assert target["name"] == "openai"
    checks = {c["check"]: c for c in target["checks"]}
    # OpenAI's create needs no model; LiteLLM refuses it, saying why. A source that cannot be
    # created is a precondition the run reports with the server's message, not a verdict.
    source = checks["source.retrieve"]
    assert source["outcome"] == "precondition"
    assert "Invalid model name" in (source["evidence"][0]["response"]["body"] or "")
    # An id in OpenAI's form that LiteLLM did not issue goes to its default provider: 500, not 404.
    assert checks["negative.retrieve-unknown"]["outcome"] == "violation"
    assert not any(c["deviations"] for c in checks.values())


def test_fuzz_as_litellm_on_a_small_budget(proxy: litellm_proxy.Proxy, tmp_path: Path) -> None:
    proc = _cli(
        proxy,
        "fuzz",
        "--vendor",
        "litellm",
        "--max-requests",
        "50",
        "--seed",
        "11",
        "--report-dir",
        str(tmp_path),
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    target = _target(tmp_path)
    assert target["requests_sent"] <= 50
    checks = {c["check"]: c for c in target["checks"]}
    assert not [c for c in checks.values() if c["outcome"] == "error"]
    # Creates carry the model LiteLLM routes on, so valid ones are accepted, not wasted.
    assert checks["fuzz.positive-data-acceptance"]["outcome"] in ("pass", "deviation")
    unexplained = [
        c["check"]
        for c in checks.values()
        if c["outcome"] == "violation" and not PROFILE.known_bug(c["check"])
    ]
    assert not unexplained, unexplained
    assert proxy.master_key not in proc.stdout + proc.stderr


def test_the_trap_caught_litellm_reaching_for_its_default_provider(
    litellm_run: tuple[Any, dict[str, Any], Path], proxy: litellm_proxy.Proxy
) -> None:
    # negative.bare-video-id sent an id LiteLLM does not manage: it reached for api.openai.com
    # (the documented bug), the trap took the connection, and nothing carried a key.
    assert proxy.trap.received, "the trap saw nothing: is the proxy environment in effect?"
    _assert_trap_clean(proxy)

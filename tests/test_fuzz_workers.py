"""`remixcheck fuzz --workers N` and `--phases`: real emulators, requests counted at the server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import TransportSettings
from remixcheck.emulator import RunningEmulator, running_emulator
from remixcheck.fuzzing import fuzzer as fuzz
from remixcheck.fuzzing.drafts import COVERAGE, FUZZING, REMIXCHECK
from remixcheck.results.model import Outcome
from tests.conftest import emulator_target, run_cli

KEY_ENV = "REMIXCHECK_FUZZ_WORKERS_KEY"


def _target(emu: RunningEmulator, **overrides: object) -> Target:
    return emulator_target(emu, KEY_ENV, **overrides)  # type: ignore[no-any-return]


def _requests_at(emu: RunningEmulator) -> int:
    return sum(emu.state.snapshot()["requests"].values())


def _outcomes(fuzzed: fuzz.TargetFuzz) -> dict[str, Outcome]:
    return {c.check: c.outcome for c in fuzzed.result.checks}


@pytest.mark.parametrize(("workers", "cap"), [(2, 1), (4, 7), (4, 90), (8, 61)])
def test_workers_never_pass_max_requests_at_the_server(workers: int, cap: int) -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        before = _requests_at(emu)
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=cap, seed=1, workers=workers))
        assert _requests_at(emu) - before == cap
    fuzzed = run.targets[0]
    assert fuzzed.meta["requests_sent"] == cap
    assert fuzzed.meta["workers"] == workers
    assert "--max-requests" in fuzzed.meta["stop_reason"]


@pytest.mark.parametrize(("fault", "cap"), [((), 0), ((), 2), (("accept-empty-prompt",), 3)])
def test_workers_never_pass_max_billable(fault: tuple[str, ...], cap: int) -> None:
    # With the fault, the server accepts invalid remixes too: the cap must hold all the same.
    with running_emulator("openai", job_seconds=0.3, faults=fault) as emu:
        run = fuzz.run(
            [_target(emu, max_billable=cap)],
            fuzz.FuzzOptions(max_requests=120, seed=2, workers=4),
        )
        jobs = emu.state.snapshot()["billable_jobs"]
    assert jobs <= cap
    assert run.targets[0].meta["billable_sent"] == jobs


@pytest.mark.parametrize("vendor", ["openai", "bifrost"])
def test_workers_against_a_faithful_emulator_break_no_invariant(vendor: str) -> None:
    # Polls of one job judged out of order would look like a status going back, a remix
    # accepted before the create that started its job like a broken chain (fuzz.invariants).
    with running_emulator(vendor, job_seconds=0.3) as emu:
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=150, seed=1, workers=4))
    outcomes = _outcomes(run.targets[0])
    assert outcomes["fuzz.invariants"] in (Outcome.PASS, Outcome.DEVIATION), outcomes
    assert Outcome.ERROR not in outcomes.values(), outcomes
    assert run.targets[0].meta["requests_sent"] == 150
    assert run.targets[0].meta["transport_errors"] == 0


STATEFUL = [
    ("no-remixed-from", "openai"),
    ("ignore-not-completed", "bifrost"),
    ("status-regresses", "apifree"),
]


@pytest.mark.parametrize(("fault", "vendor"), STATEFUL, ids=[f for f, _ in STATEFUL])
def test_workers_keep_the_order_stateful_checks_need(fault: str, vendor: str) -> None:
    # Each needs a chain in order: a job started, then remixed or polled, then its answer
    # compared with what came before.
    with running_emulator(vendor, job_seconds=0.3, faults=(fault,)) as emu:
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=60, seed=1, workers=4))
    assert _outcomes(run.targets[0])["fuzz.invariants"] is Outcome.VIOLATION


# -- phases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phases", "origins"),
    [
        (("edge",), {REMIXCHECK}),
        (("coverage",), {COVERAGE}),
        (("fuzzing",), {FUZZING}),
        (("edge", "coverage"), {REMIXCHECK, COVERAGE}),
    ],
)
def test_phases_choose_what_is_generated(phases: tuple[str, ...], origins: set[str]) -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=120, seed=1, phases=phases))
    fuzzed = run.targets[0]
    # A follow-up keeps the origin of the request it follows.
    assert {r.origin for r in fuzzed.sent} == origins
    assert fuzzed.meta["phases"] == list(phases)


def test_edge_cases_alone_end_before_the_budget() -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        before = _requests_at(emu)
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=500, seed=1, phases=("edge",)))
        sent = _requests_at(emu) - before
    assert sent == run.targets[0].meta["requests_sent"] < 500
    assert run.targets[0].meta["stop_reason"] == "generation exhausted"


def test_cli_phases_and_workers_reach_the_run(tmp_path: Path) -> None:
    out = run_cli(
        "fuzz",
        "--emulate",
        "openai",
        "--max-requests",
        "80",
        "--seed",
        "3",
        "--workers",
        "3",
        "--phases",
        "edge,coverage",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode in (0, 1), out.stdout + out.stderr
    [target] = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["targets"]
    assert target["fuzz"]["phases"] == ["edge", "coverage"]
    assert target["fuzz"]["workers"] == 3
    assert target["fuzz"]["requests_sent"] == 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "Invalid value for '--workers': 0 is not in the range 1<=x<=32"),
        (["--workers", "many"], "Invalid value for '--workers': 'many' is not a valid integer"),
        (["--workers", "33"], "Invalid value for '--workers': 33 is not in the range 1<=x<=32"),
        (["--phases", "edge,stateful"], "unknown phase(s) stateful; choose from edge, coverage"),
        (["--phases", ","], "no phase given"),
        (["-j", "two"], "'two' is not a number of processes (1..256, 0 or auto)"),
        (["-j", "257"], "'257' is not a number of processes"),
        (["--jobs", "-1"], "'-1' is not a number of processes"),
    ],
)
def test_bad_workers_or_phases_is_a_usage_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = run_cli("fuzz", "--emulate", "openai", *args, "--report-dir", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_max_time_stops_every_worker() -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        run = fuzz.run(
            [_target(emu)],
            fuzz.FuzzOptions(max_requests=100_000, max_time=0.5, seed=1, workers=4),
        )
        sent_at_stop = _requests_at(emu)
        time.sleep(0.5)
        sent_later = _requests_at(emu)
    meta = run.targets[0].meta
    assert "--max-time" in meta["stop_reason"]
    assert sent_later == sent_at_stop, "a worker kept sending after the run ended"
    # The deadline cuts the requests in flight (one per worker at most): counted as sent,
    # some never reach the server. A loaded machine shows it (164 sent, 161 arrived).
    assert sent_at_stop <= meta["requests_sent"] <= sent_at_stop + 4
    assert meta["requests_sent"] < 100_000


def test_rate_holds_across_workers() -> None:
    # Each worker pacing on its own would send 4x --rate. A lower bound only: a loaded
    # machine can make the run slower, never faster than the shared pace allows.
    rate, cap = 20.0, 12
    options = fuzz.FuzzOptions(
        max_requests=cap,
        seed=1,
        workers=4,
        phases=("coverage",),
        transport=TransportSettings(rate=rate),
    )
    with running_emulator("openai", job_seconds=0.3) as emu:
        started = time.monotonic()
        # No source video: the requests go to ids no order binds, so to every worker.
        run = fuzz.run([_target(emu, video_id=None)], options)
        elapsed = time.monotonic() - started
    assert run.targets[0].meta["requests_sent"] == cap
    assert elapsed >= (cap - 1) / rate


def test_the_429_wait_budget_is_one_for_all_workers() -> None:
    """--max-retry-wait bounds the waiting of the whole target: 4 workers waiting out 429s
    retry at most as often as one may (counted at the server as repeated requests)."""
    import collections
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: collections.Counter[tuple[str, ...]] = collections.Counter()
    lock = threading.Lock()

    class TooMany(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                headers = sorted(f"{k.lower()}: {v}" for k, v in self.headers.items())
                seen[(self.command, self.path, body.hex(), *headers)] += 1
            data = b'{"error": {"message": "slow down", "type": "rate_limit", "code": null}}'
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), TooMany)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = Target(
            name="too-many",
            vendor="openai",
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            api_key_env=KEY_ENV,
            api_key="sk-test-0000",
            video_id=None,
            emulated=False,
        )
        options = fuzz.FuzzOptions(
            max_requests=60,
            max_time=30,
            seed=1,
            workers=4,
            phases=("edge",),
            transport=TransportSettings(max_retry_wait=2.0),
        )
        fuzz.run([target], options)
    finally:
        server.shutdown()
        server.server_close()
    retries = sum(n - 1 for n in seen.values())
    assert sum(seen.values()) > retries  # requests did go out
    assert retries <= 2  # two 1-second waits fit in --max-retry-wait 2, for all 4 workers

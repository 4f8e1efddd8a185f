"""`remixcheck fuzz -j N`: the fuzzing phase drawn by worker processes, ahead of sending.

Real emulators on loopback, real worker processes, the real CLI in a subprocess; the
requests are compared as the emulator's client sent them."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from remixcheck.emulator import running_emulator
from remixcheck.fuzzing import fuzzer as fuzz
from remixcheck.fuzzing.batches import MAX_BATCH, MIN_BATCH, Plan
from remixcheck.fuzzing.drafts import FUZZING
from tests.conftest import emulator_target

KEY_ENV = "REMIXCHECK_FUZZ_JOBS_KEY"
BUDGET = 300  # ~200 edge and coverage cases, then the fuzzing phase


def test_the_plan_shares_the_budget_in_rounds() -> None:
    small = Plan(left=30, streams=6)
    assert [small.size(b) for b in range(3)] == [5, MIN_BATCH, MIN_BATCH]
    assert list(small.rounds()) == [0, 1]  # 30 cases reach 30: one more round for the drops
    plan = Plan(left=70, streams=6)
    assert [plan.size(b) for b in range(3)] == [MAX_BATCH, 4, MIN_BATCH]  # 48, then 22 / 6
    assert list(plan.rounds()) == [0, 1, 2]
    big = Plan(left=700, streams=6)
    assert big.size(0) == MAX_BATCH
    rounds = list(big.rounds())
    assert 6 * sum(big.size(b) for b in rounds[:-1]) >= 700
    assert 6 * sum(big.size(b) for b in rounds[:-2]) < 700
    assert list(Plan(left=0, streams=6).rounds()) == [0, 1]


def _sent(jobs: int, seed: int = 3) -> tuple[list[tuple[str, str, bytes | None]], dict]:
    with running_emulator("openai", job_seconds=0.3) as emu:
        run = fuzz.run(
            [emulator_target(emu, KEY_ENV)],
            fuzz.FuzzOptions(max_requests=BUDGET, seed=seed, jobs=jobs),
        )
    fuzzed = run.targets[0]
    return [(r.method, r.path, r.body) for r in fuzzed.sent], fuzzed.meta


def test_workers_send_the_requests_one_process_sends() -> None:
    one, meta_one = _sent(1)
    two, meta_two = _sent(2)
    three, _ = _sent(3)
    assert meta_two["jobs"] == 2
    assert meta_one["requests_sent"] == meta_two["requests_sent"] == BUDGET
    assert two == one
    assert three == one
    assert _sent(2, seed=4)[0] != two  # the comparison can fail


def test_the_fuzzing_phase_runs_and_no_worker_outlives_the_run() -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        run = fuzz.run(
            [emulator_target(emu, KEY_ENV)],
            fuzz.FuzzOptions(max_requests=BUDGET, seed=5, jobs=2),
        )
    fuzzed = run.targets[0]
    assert sum(r.origin == FUZZING for r in fuzzed.sent) > 50
    assert multiprocessing.active_children() == []


# -- the CLI, stopped or broken mid-run ----------------------------------------------------------


def _spawn(tmp_path: Path, budget: int) -> subprocess.Popen[str]:
    """`fuzz --emulate openai -j 2` in a subprocess."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "remixcheck",
            "fuzz",
            "--emulate",
            "openai",
            "-j",
            "2",
            "--seed",
            "1",
            "--max-requests",
            str(budget),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _workers(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    """The run's two worker processes, once they are up."""
    deadline = time.monotonic() + 60
    parent = psutil.Process(proc.pid)
    while time.monotonic() < deadline and proc.poll() is None:
        workers = parent.children()
        if len(workers) == 2:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"no workers appeared (exit {proc.poll()})")


def _gone_within(processes: list[psutil.Process], seconds: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return all(_zombie(p) for p in alive)


def _zombie(process: psutil.Process) -> bool:
    """Ended, and only waiting for its parent to reap it (or gone)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_worker_leaves_the_rest_to_the_run(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, 1500)
    workers = _workers(proc)
    workers[0].kill()
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in err + out
    assert proc.returncode in (0, 1), err
    data = json.loads((tmp_path / "reports" / "results.json").read_text())
    [target] = data["targets"]
    assert target["fuzz"]["requests_sent"] == 1500
    assert "--max-requests 1500 reached" in target["fuzz"]["stop_reason"]
    assert _gone_within(workers, 5)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_and_its_workers(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _spawn(tmp_path, 100_000)
    workers = _workers(proc)
    time.sleep(1.5)  # into the fuzzing phase, while the workers draw
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err + out
    assert "interrupted" in err
    data = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert data["interrupted"] is True
    assert _gone_within(workers, 5)


def test_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    proc = _spawn(tmp_path, 100_000)
    workers = _workers(proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(workers, 10), "orphaned workers kept running"

"""The coverage phase kept on disk once generated: the same requests as generating it afresh."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from remixcheck.contract.spec import Contract
from remixcheck.emulator import running_emulator
from remixcheck.fuzzing import fuzzer as fuzz
from remixcheck.fuzzing.coverage_cache import cache_file
from tests.conftest import emulator_target

PHASES = ("edge", "coverage")


def _sent(
    cache_dir: Path | None, *, seed: int = 1, budget: int = 400
) -> list[tuple[str, str, bytes | None]]:
    with running_emulator("openai", job_seconds=0.3) as emu:
        target = emulator_target(emu, "REMIXCHECK_FUZZ_CACHE_KEY")
        options = fuzz.FuzzOptions(
            max_requests=budget, seed=seed, phases=PHASES, cache_dir=cache_dir
        )
        run = fuzz.run([target], options)
    fuzzed = run.targets[0]
    if budget == 400:  # larger than the phase: the whole of it ran
        assert fuzzed.meta["stop_reason"] == "generation exhausted"
    else:
        assert fuzzed.meta["stop_reason"] == f"--max-requests {budget} reached"
    return [(r.method, r.path, r.body) for r in fuzzed.sent]


def _kept(tmp_path: Path) -> tuple[bool, int]:
    data = json.loads(cache_file(tmp_path, Contract.load()).read_text(encoding="utf-8"))
    return data["complete"], len(data["drafts"])


def test_cached_coverage_phase_sends_what_generating_it_sends(tmp_path: Path) -> None:
    fresh = _sent(None)
    assert not list(tmp_path.iterdir())
    first = _sent(tmp_path)  # generates, then writes
    [written] = tmp_path.iterdir()
    assert written == cache_file(tmp_path, Contract.load())
    stamp = written.stat().st_mtime_ns
    second = _sent(tmp_path)  # reads
    assert written.stat().st_mtime_ns == stamp, "a cache hit writes nothing"
    assert first == fresh
    assert second == fresh
    assert any(body and b"Content-Disposition: form-data" in body for _, _, body in fresh)


@pytest.mark.parametrize(
    "text",
    [
        '{"complete": true, "drafts": [{"origin": "schemathesis-',  # cut short
        '{"complete": true, "drafts": [1]}',
        '{"complete": true, "drafts": "ab"}',
        '[{"origin": "schemathesis-coverage"}]',  # format 1
        "null",
    ],
)
def test_unreadable_cache_is_generated_again(tmp_path: Path, text: str) -> None:
    path = cache_file(tmp_path, Contract.load())
    path.write_text(text, encoding="utf-8")
    assert _sent(tmp_path) == _sent(None)
    assert _kept(tmp_path)[0] is True


def test_a_cache_that_cannot_be_replaced_leaves_no_temporary_file(tmp_path: Path) -> None:
    cache_file(tmp_path, Contract.load()).mkdir()  # the rename fails
    assert _sent(tmp_path, budget=100) == _sent(None, budget=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        cache_file(tmp_path, Contract.load()).name
    ]


def test_another_contract_has_another_cache_file(tmp_path: Path) -> None:
    contract = Contract.load()
    other = dataclasses.replace(contract, sha256="0" * 64)
    assert cache_file(tmp_path, contract) != cache_file(tmp_path, other)
    assert cache_file(tmp_path, contract) == cache_file(tmp_path, Contract.load())


def test_a_run_ending_inside_the_phase_keeps_what_it_reached(tmp_path: Path) -> None:
    """A budget smaller than the phase: the next run of that budget generates nothing, and a
    larger one sends what generating afresh sends, then keeps the whole phase."""
    small = _sent(tmp_path, budget=100)
    complete, reached = _kept(tmp_path)
    assert not complete
    assert reached >= 100 - 47  # what the edge cases left, at least
    stamp = cache_file(tmp_path, Contract.load()).stat().st_mtime_ns
    assert _sent(tmp_path, budget=100) == small == _sent(None, budget=100)
    assert cache_file(tmp_path, Contract.load()).stat().st_mtime_ns == stamp
    assert _sent(tmp_path) == _sent(None)
    complete, whole = _kept(tmp_path)
    assert complete
    assert whole > reached
    assert _sent(tmp_path, budget=100) == small  # a shorter run reads the whole phase's start
    assert _kept(tmp_path) == (True, whole)  # and leaves it whole

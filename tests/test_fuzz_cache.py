"""The coverage phase kept on disk once generated: the same requests as generating it afresh."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from remixcheck.contract.spec import Contract
from remixcheck.emulator import running_emulator
from remixcheck.fuzzing import fuzzer as fuzz
from remixcheck.fuzzing.coverage_cache import cache_file
from tests.conftest import emulator_target

PHASES = ("edge", "coverage")


def _sent(cache_dir: Path | None, *, seed: int = 1) -> list[tuple[str, str, bytes | None]]:
    with running_emulator("openai", job_seconds=0.3) as emu:
        target = emulator_target(emu, "REMIXCHECK_FUZZ_CACHE_KEY")
        options = fuzz.FuzzOptions(max_requests=400, seed=seed, phases=PHASES, cache_dir=cache_dir)
        run = fuzz.run([target], options)
    fuzzed = run.targets[0]
    # The whole phase ran (the budget is larger than it): that is when it is written.
    assert fuzzed.meta["stop_reason"] == "generation exhausted"
    return [(r.method, r.path, r.body) for r in fuzzed.sent]


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


def test_unreadable_cache_is_generated_again(tmp_path: Path) -> None:
    path = cache_file(tmp_path, Contract.load())
    path.write_text('[{"origin": "schemathesis-coverage"', encoding="utf-8")
    assert _sent(tmp_path) == _sent(None)
    assert path.read_text(encoding="utf-8").startswith("[{")
    assert path.read_text(encoding="utf-8").endswith("]")


def test_another_contract_has_another_cache_file(tmp_path: Path) -> None:
    contract = Contract.load()
    other = dataclasses.replace(contract, sha256="0" * 64)
    assert cache_file(tmp_path, contract) != cache_file(tmp_path, other)
    assert cache_file(tmp_path, contract) == cache_file(tmp_path, Contract.load())

"""`remixcheck fuzz` and `remixcheck replay`: real emulators, real sockets, requests counted at the server."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from remixcheck.conformance.targets import Target
from remixcheck.contract import resources
from remixcheck.emulator import RunningEmulator, running_emulator
from remixcheck.fuzzing import fuzzer as fuzz
from remixcheck.fuzzing.cases import CHECK_IDS
from remixcheck.fuzzing.records import merge_results
from remixcheck.results.model import Outcome
from tests.conftest import emulator_target, fuzz_case, run_cli

KEY = "sk-FUZZ-supersecret-9f8e7d6c5b4a"
RESULTS_SCHEMA = json.loads(
    (resources.spec_dir() / "results.schema.json").read_text(encoding="utf-8")
)
EMULATOR_KEY_ENV = "REMIXCHECK_FUZZ_TEST_KEY"


def _target(emu: RunningEmulator, **overrides: object) -> Target:
    return emulator_target(emu, EMULATOR_KEY_ENV, **overrides)  # type: ignore[no-any-return]


def _fuzz(
    emu: RunningEmulator, max_requests: int, seed: int = 1, **target: object
) -> fuzz.TargetFuzz:
    run = fuzz.run([_target(emu, **target)], fuzz.FuzzOptions(max_requests=max_requests, seed=seed))
    return run.targets[0]


def _requests_at(emu: RunningEmulator) -> int:
    return sum(emu.state.snapshot()["requests"].values())


def _outcomes(fuzzed: fuzz.TargetFuzz) -> dict[str, Outcome]:
    return {c.check: c.outcome for c in fuzzed.result.checks}


def _violations(fuzzed: fuzz.TargetFuzz) -> list[tuple[str, str]]:
    return [
        (c.check, f.message)
        for c in fuzzed.result.checks
        for f in c.findings
        if f.verdict.value == "violation"
    ]


# -- faithful emulators: nothing beyond documented deviations -------------------------------


@pytest.mark.parametrize("vendor", ["openai", "aihubmix", "apifree", "bifrost"])
def test_faithful_emulator_shows_no_violation(vendor: str) -> None:
    with running_emulator(vendor, job_seconds=0.3) as emu:
        fuzzed = _fuzz(emu, 150)
    outcomes = _outcomes(fuzzed)
    assert list(outcomes) == list(CHECK_IDS)
    assert not _violations(fuzzed)
    assert Outcome.VIOLATION not in outcomes.values()
    assert outcomes["fuzz.contract"] in (Outcome.PASS, Outcome.DEVIATION)
    documented = {d for c in fuzzed.result.checks for d in c.deviations}
    if vendor in ("openai", "aihubmix"):
        not_passing = {
            c.check: c.reason for c in fuzzed.result.checks if c.outcome is not Outcome.PASS
        }
        assert not not_passing
        assert not fuzzed.cases
    else:
        # Their dialects differ from the contract, as their profiles say, and only so.
        assert Outcome.DEVIATION in outcomes.values()
        assert documented
        assert all(d.startswith(f"{vendor}.") for d in documented)
    assert fuzzed.meta["requests_sent"] == 150


# -- injected faults: each is found, by the check that should find it -----------------------

FOUND_BY = [
    ("accept-empty-prompt", "bifrost", "fuzz.negative-data-rejection"),
    ("accept-long-prompt", "apifree", "fuzz.negative-data-rejection"),
    ("skip-auth", "aihubmix", "fuzz.ignored-auth"),
    ("wrong-error-envelope", "bifrost", "fuzz.contract"),
    ("status-500-on-remix", "openai", "fuzz.server-error"),
    ("wrong-enum", "apifree", "fuzz.contract"),
    ("drop-field", "bifrost", "fuzz.contract"),
    ("null-id", "aihubmix", "fuzz.contract"),
    ("string-progress", "openai", "fuzz.contract"),
    ("remix-returns-201", "apifree", "fuzz.status-conformance"),
    ("wrong-content-type", "aihubmix", "fuzz.contract"),
    ("no-remixed-from", "openai", "fuzz.invariants"),
    ("ignore-not-completed", "bifrost", "fuzz.invariants"),
    ("status-regresses", "apifree", "fuzz.invariants"),
    # An undeclared method's 405 in a framework's {"detail": ...} is not the error envelope.
    ("framework-405", "aihubmix", "fuzz.contract"),
    ("crash-on-non-object", "bifrost", "fuzz.server-error"),
    ("ignore-content-type", "openai", "fuzz.negative-data-rejection"),
]


@pytest.mark.parametrize(("fault", "vendor", "check"), FOUND_BY, ids=[f[0] for f in FOUND_BY])
def test_injected_fault_is_found(fault: str, vendor: str, check: str) -> None:
    with running_emulator(vendor, job_seconds=0.3, faults=(fault,)) as emu:
        fuzzed = _fuzz(emu, 60)
    assert _outcomes(fuzzed)[check] is Outcome.VIOLATION, _violations(fuzzed)
    [result] = [c for c in fuzzed.result.checks if c.check == check]
    assert result.evidence, "a violation comes with a request that shows it"
    assert all(emu.api_key not in e.curl for e in result.evidence)
    assert fuzzed.cases, "the failing case is kept for replay"


# -- the budget, counted at the server -------------------------------------------------------


@pytest.mark.parametrize("cap", [1, 37])
def test_max_requests_is_exact_at_the_server(cap: int) -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        before = _requests_at(emu)
        fuzzed = _fuzz(emu, cap)
        assert _requests_at(emu) - before == cap
    assert fuzzed.meta["requests_sent"] == cap
    assert "--max-requests" in fuzzed.meta["stop_reason"]


@pytest.mark.parametrize(("fault", "cap"), [((), 0), ((), 3), (("accept-empty-prompt",), 2)])
def test_max_billable_caps_accepted_jobs(fault: tuple[str, ...], cap: int) -> None:
    # With the fault, the server also accepts invalid remixes: the cap must hold all the same.
    with running_emulator("openai", job_seconds=0.3, faults=fault) as emu:
        fuzzed = _fuzz(emu, 120, max_billable=cap)
        jobs = emu.state.snapshot()["billable_jobs"]
    assert jobs <= cap
    assert fuzzed.meta["billable_sent"] == jobs
    assert fuzzed.result.billable_sent == jobs
    if cap == 0:
        [positive] = [c for c in fuzzed.result.checks if c.check == "fuzz.positive-data-acceptance"]
        # Retrieving the completed source still counts as positive data; no remix was accepted.
        assert positive.outcome in (Outcome.PASS, Outcome.SKIPPED)


class _Remote(Target):
    """A target treated as a real vendor's host (the emulator stands in for it)."""

    @property
    def loopback(self) -> bool:
        return False


def test_off_loopback_no_garbage_and_nothing_billable_by_default() -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        target = _Remote(
            name="remote",
            vendor="openai",
            base_url=emu.base_url,
            api_key_env=EMULATOR_KEY_ENV,
            api_key=emu.api_key,
            video_id=emu.source_video_id,
            max_billable=0,  # what make_target gives a non-loopback host
        )
        run = fuzz.run([target], fuzz.FuzzOptions(max_requests=150, seed=3))
        snapshot = emu.state.snapshot()
    sent = run.targets[0].sent
    assert len(sent) == 150
    assert {r.method for r in sent} <= {"GET", "POST"}
    assert not [r for r in sent if r.method == "POST" and r.id_kind == "hostile"]
    assert {route.split()[0] for route in snapshot["requests"]} <= {"GET", "POST"}
    assert snapshot["billable_jobs"] == 0
    outcomes = _outcomes(run.targets[0])
    assert outcomes["fuzz.unsupported-method"] is Outcome.SKIPPED
    # Remixes still go out, to a video that does not exist; only starting a job is off.
    assert any(r.operation == "CreateVideoRemix" and r.id_kind == "unknown" for r in sent)


class _RateLimited(BaseHTTPRequestHandler):
    """Answers every request 429 with a short Retry-After and remembers when it came."""

    seen: list[float]

    def _answer(self) -> None:
        self.seen.append(time.monotonic())
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = (
            b'{"error": {"message": "slow down", "type": "requests", "param": null, "code": null}}'
        )
        self.send_response(429)
        # OpenAI's TooManyRequests: an integer >= 1 (a fraction would itself be a finding)
        self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def rate_limited() -> Iterator[tuple[str, list[float]]]:
    seen: list[float] = []
    handler = type("Handler", (_RateLimited,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_retries_after_429_count_against_max_requests(
    rate_limited: tuple[str, list[float]],
) -> None:
    base_url, seen = rate_limited
    target = Target(
        name="limited",
        vendor="openai",
        base_url=base_url,
        api_key_env="K",
        api_key=KEY,
        video_id="video_123",
    )
    run = fuzz.run([target], fuzz.FuzzOptions(max_requests=4, seed=1))
    assert len(seen) == 4
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert all(gap >= 0.99 for gap in gaps), gaps  # Retry-After honoured between retries
    assert run.targets[0].meta["requests_sent"] == 4
    assert not _violations(run.targets[0]), "a 429 says nothing about the case"


def test_max_time_stops_the_run() -> None:
    with running_emulator("openai", job_seconds=0.3) as emu:
        run = fuzz.run([_target(emu)], fuzz.FuzzOptions(max_requests=100_000, max_time=0.5, seed=1))
    assert "--max-time" in run.targets[0].meta["stop_reason"]
    assert run.targets[0].meta["requests_sent"] < 100_000


# -- reproducibility -------------------------------------------------------------------------


def _sent(seed: int) -> list[tuple[str, str, bytes | None]]:
    with running_emulator("bifrost", job_seconds=0.3) as emu:
        fuzzed = _fuzz(emu, 90, seed=seed)
    return [(r.method, r.path, r.body) for r in fuzzed.sent]


def test_same_seed_same_cases() -> None:
    first = _sent(5)
    assert len(first) == 90
    assert _sent(5) == first
    assert _sent(6) != first


# -- results.json merging ----------------------------------------------------------------------


def test_merge_keeps_catalogue_checks_and_replaces_fuzz_checks() -> None:
    spec = {"version": "1.0.0", "sha256": "0" * 64}
    catalogue = {"check": "negative.empty-prompt", "family": "negative", "outcome": "pass"}
    old_fuzz = {"check": "fuzz.contract", "family": "fuzz", "outcome": "violation"}
    existing = {
        "spec": spec,
        "targets": [
            {
                "name": "a",
                "checks": [catalogue, old_fuzz],
                "requests_sent": 50,
                "billable_sent": 5,
                "fuzz": {"requests_sent": 20, "billable_sent": 2},
            },
            {"name": "b", "checks": [catalogue], "requests_sent": 9, "billable_sent": 1},
        ],
    }
    new_fuzz = {"check": "fuzz.contract", "family": "fuzz", "outcome": "pass"}
    new = {
        "spec": spec,
        "strict": False,
        "targets": [
            {
                "name": "a",
                "checks": [new_fuzz],
                "requests_sent": 30,
                "billable_sent": 0,
                "fuzz": {"requests_sent": 30, "billable_sent": 0},
            },
            {"name": "c", "checks": [new_fuzz], "requests_sent": 3, "billable_sent": 0},
        ],
    }
    merged = merge_results(existing, new)
    a, b, c = merged["targets"]
    assert a["checks"] == [catalogue, new_fuzz]
    assert (a["requests_sent"], a["billable_sent"]) == (60, 3)
    assert a["counts"]["pass"] == 2
    assert b["checks"] == [catalogue]
    assert c["name"] == "c"
    assert merged["billable_sent"] == 4
    assert merge_results({**existing, "spec": {"version": "0", "sha256": "1" * 64}}, new) == new


# -- the CLI: keys, case files, replay, usage errors -----------------------------------------


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    """One `remixcheck fuzz --base-url` run against an emulator with a known key and a fault."""
    out_dir = tmp_path_factory.mktemp("fuzz")
    with running_emulator(
        "openai", api_key=KEY, job_seconds=0.3, faults=("accept-empty-prompt",)
    ) as emu:
        out = run_cli(
            "fuzz",
            "--base-url",
            emu.base_url,
            "--vendor",
            "openai",
            "--api-key-env",
            EMULATOR_KEY_ENV,
            "--video-id",
            emu.source_video_id,
            "--max-requests",
            "70",
            "--seed",
            "11",
            "--report-dir",
            str(out_dir),
            env={EMULATOR_KEY_ENV: KEY},
            cwd=out_dir,
        )
        yield out_dir, out


def test_cli_fuzz_reports_and_exits_1(cli_run: tuple[Path, object]) -> None:
    out_dir, out = cli_run
    assert out.returncode == 1, out.stdout + out.stderr  # type: ignore[attr-defined]
    assert "violation fuzz.negative-data-rejection" in out.stdout  # type: ignore[attr-defined]
    assert "seed 11" in out.stdout  # type: ignore[attr-defined]
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, RESULTS_SCHEMA)
    [target] = results["targets"]
    assert [c["check"] for c in target["checks"]] == list(CHECK_IDS)
    assert {c["family"] for c in target["checks"]} == {"fuzz"}
    assert target["fuzz"]["requests_sent"] == 70
    assert (out_dir / "junit.xml").is_file()
    assert (out_dir / "compat.html").is_file()
    cases = sorted((out_dir / "fuzz-cases").glob("*.json"))
    assert cases
    case = json.loads(cases[0].read_text(encoding="utf-8"))
    assert case["seed"] == 11
    assert f'"Authorization: Bearer ${EMULATOR_KEY_ENV}"' in case["curl"]


def test_cli_key_never_in_any_output(cli_run: tuple[Path, object]) -> None:
    out_dir, out = cli_run
    blobs = [out.stdout.encode(), out.stderr.encode()]  # type: ignore[attr-defined]
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.json", "junit.xml", "compat.html"}
    assert any(p.parent.name == "fuzz-cases" for p in files)
    blobs += [p.read_bytes() for p in files]
    assert all(KEY.encode() not in b for b in blobs)
    assert all(KEY[10:].encode() not in b for b in blobs)  # not even the secret part alone


def test_cli_merges_into_catalogue_results(tmp_path: Path) -> None:
    run_out = run_cli(
        "run", "--emulate", "openai", "--checks", "negative.*", "--report-dir", str(tmp_path)
    )
    assert run_out.returncode == 0, run_out.stdout + run_out.stderr
    fuzz_out = run_cli(
        "fuzz", "--emulate", "openai", "--max-requests", "30", "--seed", "2",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert fuzz_out.returncode == 0, fuzz_out.stdout + fuzz_out.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, RESULTS_SCHEMA)
    [target] = results["targets"]
    assert target["requests_sent"] > target["fuzz"]["requests_sent"] == 30
    families = [c["family"] for c in target["checks"]]
    assert "negative" in families
    assert families.count("fuzz") == len(CHECK_IDS)


def test_replay_still_fails_on_the_faulty_server_and_passes_on_a_fixed_one(
    cli_run: tuple[Path, object],
) -> None:
    out_dir, _ = cli_run
    failing = [
        p
        for p in sorted((out_dir / "fuzz-cases").glob("*.json"))
        if json.loads(p.read_text(encoding="utf-8"))["request"]["description"]
        == "empty prompt (0 characters)"
    ]
    assert failing
    env = {EMULATOR_KEY_ENV: KEY}
    with running_emulator(
        "openai", api_key=KEY, job_seconds=0.3, faults=("accept-empty-prompt",)
    ) as faulty:
        still = run_cli(
            "replay", str(failing[0]), "--base-url", faulty.base_url,
            "--api-key-env", EMULATOR_KEY_ENV, env=env,
        )  # fmt: skip
    assert still.returncode == 1, still.stdout + still.stderr
    assert "still fails" in still.stdout
    with running_emulator("openai", api_key=KEY, job_seconds=0.3) as fixed:
        now = run_cli(
            "replay", str(failing[0]), "--base-url", fixed.base_url,
            "--api-key-env", EMULATOR_KEY_ENV, env=env,
        )  # fmt: skip
    assert now.returncode == 0, now.stdout + now.stderr
    assert "passes now" in now.stdout
    assert KEY not in still.stdout + still.stderr + now.stdout + now.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --base-url and --vendor together"),
        (["--emulate", "--base-url", "http://127.0.0.1:9"], "does not combine with --base-url"),
        (["--fault", "skip-auth", "--vendor", "openai"], "only apply with --emulate"),
        (["--emulate", "--fault", "no-such-fault"], "unknown fault(s) no-such-fault"),
        (
            [
                "--base-url",
                "http://127.0.0.1:9",
                "--vendor",
                "openai",
                "--api-key-env",
                "NOT_SET_X",
            ],
            "NOT_SET_X is not set",
        ),
        (["--base-url", "ftp://x", "--vendor", "openai"], "is not an http(s) URL"),
    ],
)
def test_fuzz_usage_errors_exit_2_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = run_cli(
        "fuzz", *args, "--report-dir", str(tmp_path), cwd=tmp_path, env={"OPENAI_API_KEY": "sk-x"}
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_replay_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    not_a_case = tmp_path / "case.json"
    not_a_case.write_text('{"schema": "something-else"}', encoding="utf-8")
    for args, message in (
        ([str(tmp_path / "missing.json")], "cannot read"),
        ([str(not_a_case)], "not a remixcheck fuzz case"),
    ):
        out = run_cli("replay", *args, cwd=tmp_path)
        assert out.returncode == 2, out.stdout + out.stderr
        assert message in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_unknown_fields_on_an_unknown_video_may_be_refused_first(tmp_path: Path) -> None:
    # Found by a 2,000-request run against the faithful emulator, which refuses an unknown
    # field (400) before it looks the video up. What OpenAI's server does with one is
    # undocumented and the document leaves the body open: 400 is as faithful as 404 there.
    with running_emulator("openai", api_key=KEY, job_seconds=0.3) as emu:
        data = fuzz_case(emu.base_url)
        data["request"].update(  # type: ignore[attr-defined]
            operation="CreateVideoRemix",
            method="POST",
            path="/v1/videos/video_123/remix",
            content_type="application/json",
            body='{"prompt": "snow", "not_a_field": 1}',
            body_encoding="utf-8",
            id_kind="unknown",
        )
        case = tmp_path / "case.json"
        case.write_text(json.dumps(data), encoding="utf-8")
        out = run_cli(
            "replay", str(case), "--api-key-env", EMULATOR_KEY_ENV,
            env={EMULATOR_KEY_ENV: KEY}, cwd=tmp_path,
        )  # fmt: skip
        reached = emu.state.snapshot()["requests"]
    assert reached, out.stdout + out.stderr
    assert "400" in out.stdout, out.stdout + out.stderr
    assert out.returncode == 0, out.stdout + out.stderr
    assert "passes" in out.stdout

"""remixcheck against a server it did not write: faithful servers come out clean.

The reference server (tests/reference_server.py) follows OpenAI's document and OpenAI's
conventions, shares no code with the emulators, accepts unknown remix fields and answers an
unimplemented method with 501 (or 405). `run` and `fuzz` against it must exit 0 with no
violation; a source that never completes must be a precondition, never a violation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_cli
from tests.reference_server import reference_server

KEY_ENV = "REFERENCE_KEY"


def _results(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "results.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _bad(results: dict[str, Any]) -> list[str]:
    return [
        f"{c['check']}: {c['outcome']}: {c['reason']} {[f['message'] for f in c['findings'] if f['verdict'] == 'violation'][:3]}"
        for t in results["targets"]
        for c in t["checks"]
        if c["outcome"] in ("violation", "error", "precondition")
    ]


@pytest.mark.parametrize(
    ("with_video_id", "poll_hint"),
    [(True, True), (False, True), (True, False)],
    ids=["given-source", "created-source", "no-poll-hint"],
)
def test_run_against_the_reference_server_is_clean(
    tmp_path: Path, with_video_id: bool, poll_hint: bool
) -> None:
    with reference_server(poll_hint=poll_hint) as ref:
        args = ["run", "--base-url", ref.base_url, "--vendor", "openai", "--api-key-env", KEY_ENV]
        if with_video_id:
            args += ["--video-id", ref.source_video_id]
        out = run_cli(*args, "--report-dir", str(tmp_path), env={KEY_ENV: ref.key}, cwd=tmp_path)
    results = _results(tmp_path)
    assert out.returncode == 0, "\n".join(_bad(results)) + out.stdout[-3000:] + out.stderr
    assert not _bad(results)
    checks = {c["check"]: c for c in results["targets"][0]["checks"]}
    assert checks["negative.unknown-field"]["outcome"] == "info"
    assert checks["negative.unknown-field"]["fact"] == "ignores unknown fields"
    assert checks["positive.remix-json"]["outcome"] == "pass"
    assert "dialect negative.unknown-field: ignores unknown fields" in out.stdout
    # openai-poll-after-ms is OpenAI's habit, not its document: without it, a dialect fact.
    headers = checks["headers.expected"]
    if poll_hint:
        assert headers["outcome"] == "pass", headers
    else:
        assert headers["outcome"] == "info", headers
        assert headers["fact"] == "sends no openai-poll-after-ms"
    assert ref.key not in out.stdout + (tmp_path / "results.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("unknown_method", "workers", "jobs", "budget"),
    [(501, 1, 1, 150), (405, 4, 1, 150), (501, 1, 2, 400)],
)
def test_fuzz_against_the_reference_server_is_clean(
    tmp_path: Path, unknown_method: int, workers: int, jobs: int, budget: int
) -> None:
    """Also with --workers 4: concurrent requests to a server we did not write keep every
    job's order (no invariant broken) and the request cap. And with -j 2 on a budget past the
    edge cases and the coverage phase: the fuzzing phase, drawn by worker processes."""
    with reference_server(unknown_method=unknown_method) as ref:
        # the server answers an unknown method as configured (http.server's own 501, or 405)
        query = httpx.request("QUERY", f"{ref.base_url}/v1/videos/{ref.source_video_id}")
        assert query.status_code == unknown_method
        out = run_cli(
            "fuzz",
            "--base-url", ref.base_url,
            "--vendor", "openai",
            "--api-key-env", KEY_ENV,
            "--video-id", ref.source_video_id,
            "--max-requests", str(budget),
            "--seed", "11",
            "--workers", str(workers),
            "-j", str(jobs),
            "--report-dir", str(tmp_path),
            env={KEY_ENV: ref.key},
            cwd=tmp_path,
            timeout=600,
        )  # fmt: skip
    results = _results(tmp_path)
    fuzzed = results["targets"][0]["fuzz"]
    assert 0 < fuzzed["requests_sent"] <= budget, fuzzed
    if jobs > 1:  # the whole budget: past the edge cases and the coverage phase (~200)
        assert (fuzzed["requests_sent"], fuzzed["jobs"]) == (budget, jobs), fuzzed
    assert out.returncode == 0, "\n".join(_bad(results)) + out.stdout[-3000:] + out.stderr
    checks = {c["check"]: c for c in results["targets"][0]["checks"]}
    assert checks["fuzz.unsupported-method"]["outcome"] == "pass", checks["fuzz.unsupported-method"]
    assert checks["fuzz.server-error"]["outcome"] == "pass"
    assert not _bad(results)


def test_a_source_that_never_completes_is_a_precondition(tmp_path: Path) -> None:
    with reference_server(source_completes=False) as ref:
        out = run_cli(
            "run",
            "--base-url", ref.base_url,
            "--vendor", "openai",
            "--api-key-env", KEY_ENV,
            "--video-id", ref.source_video_id,
            "--report-dir", str(tmp_path),
            env={KEY_ENV: ref.key},
            cwd=tmp_path,
        )  # fmt: skip
    results = _results(tmp_path)
    checks = {c["check"]: c for c in results["targets"][0]["checks"]}
    source = checks["source.retrieve"]
    assert source["outcome"] == "precondition"
    assert '"in_progress"' in source["reason"]
    assert "--video-id" in source["reason"]
    assert not [c for c in checks.values() if c["outcome"] == "violation"], _bad(results)
    assert checks["positive.remix-json"]["outcome"] == "skipped"
    assert "needs a completed source video" in checks["positive.remix-json"]["reason"]
    for cid in ("negative.missing-auth", "negative.unknown-video", "negative.prompt-too-long"):
        assert checks[cid]["outcome"] == "pass", checks[cid]
    # not a verdict, but the run proved nothing about remix: it does not pass
    assert out.returncode == 1
    assert "precondition source.retrieve" in out.stdout


# Requests on which OpenAI's document leaves a server no choice: the reference server and the
# openai emulator must agree (where they did not, the document said which was wrong: the
# emulator took a string as create's JSON input_reference, which must be an object).
AGREED = [
    (
        "POST",
        "/v1/videos",
        {"json": {"prompt": "x", "input_reference": {"image_url": "https://e.x/a.png"}}},
    ),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "input_reference": {"file_id": "file-1"}}}),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "input_reference": "abc"}}),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "input_reference": {"file_id": 7}}}),
    (
        "POST",
        "/v1/videos",
        {"data": {"prompt": "x"}, "files": {"input_reference": ("a.png", b"\x89PNG", "image/png")}},
    ),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "model": "any-model-name"}}),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "seconds": 8}}),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "size": "1x1"}}),
    ("POST", "/v1/videos", {"json": {"prompt": "x", "unknown": 1}}),
    ("POST", "/v1/videos/{src}/remix", {"json": {"prompt": ""}}),
    ("POST", "/v1/videos/{src}/remix", {"json": {"prompt": "x" * 32001}}),
    ("POST", "/v1/videos/{src}/remix", {"json": []}),
    ("POST", "/v1/videos/{src}/remix", {"content": b""}),
    ("GET", "/v1/videos/..", {}),
    ("GET", "/v1/videos/{src}", {"headers": {"Authorization": "Bearer sk-wrong"}}),
]


def test_reference_server_and_openai_emulator_agree_where_the_document_decides() -> None:
    from remixcheck.emulator import running_emulator

    def statuses(base: str, key: str, src: str) -> list[int]:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            return [
                client.request(method, path.replace("{src}", src), **kwargs).status_code
                for method, path, kwargs in AGREED
            ]

    with reference_server() as ref:
        ours = statuses(ref.base_url, ref.key, ref.source_video_id)
    with running_emulator("openai") as emu:
        theirs = statuses(emu.base_url, emu.api_key, emu.source_video_id)
    assert ours == theirs, list(zip(AGREED, ours, theirs, strict=True))
    assert ours[2] == ours[3] == 400, "create's JSON input_reference is an object of strings"


def test_fuzz_with_a_source_that_never_completes_is_no_violation(tmp_path: Path) -> None:
    with reference_server(source_completes=False) as ref:
        out = run_cli(
            "fuzz",
            "--base-url", ref.base_url,
            "--vendor", "openai",
            "--api-key-env", KEY_ENV,
            "--video-id", ref.source_video_id,
            "--max-requests", "60",
            "--seed", "3",
            "--report-dir", str(tmp_path),
            env={KEY_ENV: ref.key},
            cwd=tmp_path,
            timeout=600,
        )  # fmt: skip
    results = _results(tmp_path)
    assert out.returncode == 0, "\n".join(_bad(results)) + out.stdout[-3000:] + out.stderr
    assert not _bad(results)

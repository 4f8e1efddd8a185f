"""A hostile server gets findings or clear errors, never a crash, and never the key elsewhere."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from remixcheck.conformance import runner
from remixcheck.conformance.checks.context import Settings
from remixcheck.conformance.targets import Target
from remixcheck.conformance.transport import TransportSettings
from remixcheck.results.model import Outcome
from tests.hostile import Recorder, hostile_servers

KEY = "sk-hostile-SECRETSECRET-42"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, Recorder]]:
    with hostile_servers() as s:
        yield s


def _run(
    base_url: str, check: str = "negative.retrieve-unknown", **transport: float
) -> tuple[object, dict[str, object]]:
    target = Target(
        name="hostile",
        vendor="openai",
        base_url=base_url,
        api_key_env="HOSTILE_KEY",
        api_key=KEY,
        video_id="video_1",
    )
    options = runner.RunOptions(
        checks=(check,),
        transport=TransportSettings(
            connect_timeout=1,
            read_timeout=transport.get("read_timeout", 2),
            max_body_bytes=int(transport.get("max_body_bytes", 65536)),
        ),
        context=Settings(poll_interval=0.05, poll_timeout=2),
    )
    result = runner.run([target], options)
    [check_result] = result.targets[0].checks
    return check_result, runner.public_dict(result, [target])


def test_non_json_body_is_a_violation(servers: tuple[str, str, Recorder]) -> None:
    result, _ = _run(servers[0] + "/nonjson")
    assert result.outcome is Outcome.VIOLATION  # type: ignore[attr-defined]
    checks = {f.check for f in result.findings}  # type: ignore[attr-defined]
    assert {"response.content-type", "negative.retrieve-unknown"} <= checks


def test_truncated_json_is_a_violation_not_an_error(servers: tuple[str, str, Recorder]) -> None:
    result, data = _run(servers[0] + "/truncated")
    assert result.outcome is Outcome.VIOLATION  # type: ignore[attr-defined]
    assert any(f.keyword == "json" for f in result.findings)  # type: ignore[attr-defined]
    evidence = data["targets"][0]["checks"][0]["evidence"][0]  # type: ignore[index]
    assert "connection closed before the body ended" in evidence["note"]


def test_huge_body_is_cut_at_the_cap(servers: tuple[str, str, Recorder]) -> None:
    result, data = _run(servers[0] + "/huge", max_body_bytes=100_000)
    assert result.outcome is Outcome.VIOLATION  # type: ignore[attr-defined]
    assert any(f.keyword == "size" and f.actual == "truncated" for f in result.findings)  # type: ignore[attr-defined]
    evidence = data["targets"][0]["checks"][0]["evidence"][0]  # type: ignore[index]
    assert evidence["response"]["truncated"] is True
    assert "body cut at --max-body-bytes 100000" in evidence["note"]
    assert len(json.dumps(data)) < 200_000


def test_hang_is_a_timeout_error(servers: tuple[str, str, Recorder]) -> None:
    result, _ = _run(servers[0] + "/hang", read_timeout=0.5)
    assert result.outcome is Outcome.ERROR  # type: ignore[attr-defined]
    assert "timeout" in result.reason  # type: ignore[attr-defined]


def test_connection_reset_is_an_error(servers: tuple[str, str, Recorder]) -> None:
    result, _ = _run(servers[0] + "/reset")
    assert result.outcome is Outcome.ERROR  # type: ignore[attr-defined]
    assert "failed" in result.reason or "connect" in result.reason  # type: ignore[attr-defined]


def test_refused_connection_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, _ = _run(f"http://127.0.0.1:{port}")
    assert result.outcome is Outcome.ERROR  # type: ignore[attr-defined]
    assert "cannot connect" in result.reason  # type: ignore[attr-defined]


def test_cross_origin_redirect_is_not_followed(servers: tuple[str, str, Recorder]) -> None:
    hostile, _elsewhere, seen = servers
    before = len(seen.heads)
    result, data = _run(hostile + "/redirect")
    assert len(seen.heads) == before, "the run must not follow a redirect to another origin"
    assert all(KEY.encode() not in head for head in seen.heads)
    assert result.outcome is Outcome.VIOLATION  # type: ignore[attr-defined]
    evidence = data["targets"][0]["checks"][0]["evidence"][0]  # type: ignore[index]
    assert "not followed" in evidence["note"]


def test_echoed_key_is_scrubbed(servers: tuple[str, str, Recorder]) -> None:
    _, data = _run(servers[0] + "/echo")
    text = json.dumps(data)
    assert KEY not in text
    assert "<redacted>" in text

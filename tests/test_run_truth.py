"""Exit codes tell the truth: a refused key is one diagnosis, a run that proved nothing fails,
Retry-After is read strictly, and every Content-Encoding layer counts against the cap."""

from __future__ import annotations

import email.utils
import gzip
import zlib

import pytest

from remixcheck.conformance import runner
from remixcheck.conformance.bodies import BodyDecoder
from remixcheck.conformance.checks.context import Settings
from remixcheck.conformance.targets import Target
from remixcheck.conformance.wire import retry_after_seconds
from remixcheck.emulator import running_emulator
from remixcheck.results.model import CheckResult, Outcome, RunResult, TargetResult


def test_a_refused_key_is_diagnosed_once_and_the_run_fails() -> None:
    with running_emulator("openai", api_key="sk-the-right-key-0001") as emu:
        target = Target(
            name="wrong-key",
            vendor="openai",
            base_url=emu.base_url,
            api_key_env="WRONG_KEY",
            api_key="sk-a-wrong-key-00000002",
            video_id=emu.source_video_id,
            emulated=True,
        )
        result = runner.run([target], runner.RunOptions(context=Settings(poll_interval=0.05)))
    checks = result.targets[0].checks
    diagnosed = [c for c in checks if c.reason.startswith("the server refused the key: 401")]
    assert len(diagnosed) == 1, [c.reason for c in checks]
    assert "$WRONG_KEY" in diagnosed[0].reason
    marked = [c for c in checks if c.reason.startswith("not run: the server refused the key")]
    assert marked
    assert all(c.outcome is Outcome.ERROR for c in marked)
    # No flood of "expected 404, got 401": checks that use the key are not judged on a 401.
    assert not [c for c in checks if c.outcome is Outcome.VIOLATION and "401" in str(c.findings)]
    assert result.targets[0].key_refused == diagnosed[0].reason
    assert result.failing()
    # Checks that send no key or a wrong one on purpose still ran and were judged.
    assert any(c.check == "negative.missing-auth" and c.outcome is Outcome.PASS for c in checks)


def _target(*outcomes: Outcome) -> TargetResult:
    target = TargetResult(
        name="t", vendor="openai", base_url="http://x", api_key_env=None, emulated=True
    )
    target.checks = [CheckResult(f"c{i}", "f", "t", o) for i, o in enumerate(outcomes)]
    return target


@pytest.mark.parametrize(
    ("outcomes", "failing"),
    [
        ((Outcome.SKIPPED, Outcome.SKIPPED), True),
        ((Outcome.SKIPPED, Outcome.ERROR), True),
        ((), True),
        ((Outcome.SKIPPED, Outcome.PASS), False),
        ((Outcome.DEVIATION,), False),
    ],
)
def test_a_run_that_proved_nothing_fails(outcomes: tuple[Outcome, ...], failing: bool) -> None:
    result = RunResult("v", "s", "sha", "now", targets=[_target(*outcomes)])
    assert result.failing() is failing


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("999999", 999999.0),
        ("nan", None),
        ("-1", None),
        ("1.5", None),
        ("inf", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("21 Oct 2015 07:28:00", None),
    ],
)
def test_retry_after_is_parsed_strictly(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_date_in_the_future() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after_seconds(date, now=now) == pytest.approx(90, abs=1)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw DEFLATE, as some servers send
        ("deflate, gzip", lambda b: gzip.compress(zlib.compress(b))),
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("identity", lambda b: b),
    ],
)
def test_every_layer_is_decoded_and_capped(encoding: str, encode: object) -> None:
    body = b'{"id": "video_1"}' * 100
    wire = encode(body)  # type: ignore[operator]
    whole = BodyDecoder(encoding, 1 << 20)
    for i in range(0, len(wire), 7):
        whole.feed(wire[i : i + 7])
    assert whole.done().body == body
    capped = BodyDecoder(encoding, 1000)
    capped.feed(wire)
    out = capped.done()
    assert out.truncated
    assert out.body == body[:1000]


def test_a_gzip_bomb_stays_within_the_cap() -> None:
    inner = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    bomb = gzip.compress(
        b"".join([inner.compress(bytes(1 << 20)) for _ in range(64)] + [inner.flush()])
    )
    decoder = BodyDecoder("gzip, gzip", 4096)
    decoder.feed(bomb)
    out = decoder.done()
    assert out.truncated
    assert len(out.body) == 4096


def test_an_unknown_encoding_keeps_the_body_and_says_so() -> None:
    decoder = BodyDecoder("br", 1024)
    decoder.feed(b"\x8b\x00")
    out = decoder.done()
    assert out.body == b"\x8b\x00"
    assert "br not decoded" in out.notes[0]

"""Keys: refused when unusable (without being printed), and no form of one in any output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from remixcheck.traffic.redact import Redactor, derived_forms
from tests.conftest import fuzz_case, run_cli
from tests.leaky import KEY, SECRET, artifacts, echoes, leaked, leaky_server


@pytest.fixture(scope="module")
def leaky() -> Iterator[str]:
    with leaky_server() as url:
        yield url


# -- keys checked when loaded -------------------------------------------------------------

BAD_KEYS = {
    "trailing CR": KEY + "\r",
    "trailing LF": KEY + "\n",
    "CRLF": KEY + "\r\n",
    "inner space": KEY[:10] + " " + KEY[10:],
    "tab": "\t" + KEY,
    "DEL": KEY[:5] + "\x7f" + KEY[5:],
    "bell": KEY[:5] + "\x07" + KEY[5:],
    "escape": KEY + "\x1b[2J",
    "non-ASCII": KEY + "é",
}


def _one_clean_line(out: str) -> str:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert "Traceback" not in out
    return lines[0]


@pytest.mark.parametrize("bad", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_run_refuses_an_unusable_key_without_printing_it(tmp_path: Path, bad: str) -> None:
    out = run_cli(
        "run",
        "--base-url",
        "http://127.0.0.1:9",
        "--vendor",
        "openai",
        "--report-dir",
        str(tmp_path / "r"),
        env={"OPENAI_API_KEY": bad},
        cwd=tmp_path,
    )
    assert out.returncode == 2
    line = _one_clean_line(out.stderr)
    assert "OPENAI_API_KEY" in line
    assert not leaked(out.stdout + out.stderr)
    assert not (tmp_path / "r").exists()  # refused before anything was sent or written


def test_every_door_refuses_a_key_with_a_trailing_newline(tmp_path: Path, leaky: str) -> None:
    env = {"OPENAI_API_KEY": KEY + "\r\n", "EMU_KEY": KEY + "\n"}
    case = tmp_path / "case.json"
    case.write_text(json.dumps(fuzz_case(leaky)), encoding="utf-8")
    runs = {
        "fuzz": run_cli(
            "fuzz", "--base-url", leaky, "--vendor", "openai", "--max-requests", "3", env=env
        ),
        "replay": run_cli("replay", str(case), "--base-url", leaky, env=env),
        "serve": run_cli(
            "serve",
            "--vendor",
            "openai",
            "--port",
            "0",
            env={"REMIXCHECK_EMULATOR_API_KEY": KEY + "\r"},
        ),
    }
    for name, out in runs.items():
        assert out.returncode == 2, (name, out.stderr)
        assert "carriage return" in _one_clean_line(out.stderr) or "line feed" in out.stderr
        assert not leaked(out.stdout + out.stderr), name


def test_plugin_refuses_an_unusable_key_as_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\r")
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--remixcheck-base-url=http://127.0.0.1:9",
        "--remixcheck-vendor=openai",
    )
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in text
    assert "carriage return" in text
    assert not leaked(text)


# -- no form of the key in any output --------------------------------------------------------


def _assert_clean(texts: dict[str, str]) -> None:
    found = {name: leaked(text) for name, text in texts.items()}
    assert not {name: forms for name, forms in found.items() if forms}


def test_no_form_of_the_key_leaks_from_run_fuzz_and_replay(tmp_path: Path, leaky: str) -> None:
    env = {"OPENAI_API_KEY": KEY}
    reports = tmp_path / "reports"
    target = ["--base-url", leaky, "--vendor", "openai", "--report-dir", str(reports)]
    run = run_cli(
        "run", *target, "--max-billable", "3", "--poll-timeout", "1", env=env, cwd=tmp_path
    )
    assert run.returncode == 1, run.stderr
    fuzz = run_cli("fuzz", *target, "--max-requests", "25", "--seed", "3", env=env, cwd=tmp_path)
    assert fuzz.returncode == 1, fuzz.stderr
    cases = sorted((reports / "fuzz-cases").glob("*.json"))
    assert cases, "the echo server fails cases, so some are kept"
    replay = run_cli("replay", str(cases[0]), env=env, cwd=tmp_path)
    assert replay.returncode == 1, replay.stderr
    files = artifacts(reports)
    assert {"results.json", "junit.xml", "compat.html"} <= {Path(p).name for p in files}
    # The echoes did reach the reports, redacted: the test would pass vacuously otherwise.
    assert "<redacted>" in files[str(reports / "results.json")]
    _assert_clean(
        {
            **files,
            "run stdout": run.stdout,
            "run stderr": run.stderr,
            "fuzz stdout": fuzz.stdout,
            "fuzz stderr": fuzz.stderr,
            "replay stdout": replay.stdout,
            "replay stderr": replay.stderr,
        }
    )


def test_no_form_of_the_key_leaks_from_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, leaky: str
) -> None:
    monkeypatch.setenv("LEAKY_KEY", KEY)
    report = pytester.path / "out" / "compat.html"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--remixcheck-base-url={leaky}",
        "--remixcheck-vendor=openai",
        "--remixcheck-api-key-env=LEAKY_KEY",
        "--remixcheck-video-id=video_123",
        "--remixcheck-checks=negative.unknown-video,negative.missing-key,negative.retrieve-unknown",
        f"--remixcheck-report={report}",
        f"--junitxml={pytester.path / 'out' / 'junit.xml'}",
        "-rA",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    files = artifacts(pytester.path / "out")
    assert len(files) == 3
    _assert_clean({**files, "stdout": result.stdout.str(), "stderr": result.stderr.str()})


def test_no_form_of_the_key_leaks_from_validate(tmp_path: Path) -> None:
    """A capture holds the key in bodies and in a line too broken to parse; the env has it."""
    forms = echoes(KEY)
    good = {
        "request": {
            "method": "GET",
            "url": "https://api.openai.com/v1/videos/video_123",
            "headers": {"authorization": f"Bearer {KEY}"},
        },
        "response": {"status": 200, "headers": {}, "body": {"id": KEY, "echo": forms}},
    }
    broken = f'{{"request": {{"headers": {{"authorization": "Bearer {KEY}"}}}}, "response": xx}}'
    capture = tmp_path / "capture.jsonl"
    capture.write_text(json.dumps(good) + "\n" + broken + "\n", encoding="utf-8")
    for fmt in ("text", "json"):
        out = run_cli(
            "validate",
            str(capture),
            "--vendor",
            "openai",
            "--format",
            fmt,
            env={"OPENAI_API_KEY": KEY},
        )
        assert out.returncode == 2, out.stderr  # one record unreadable
        _assert_clean({"stdout": out.stdout, "stderr": out.stderr})
    broken_first = tmp_path / "broken.jsonl"
    broken_first.write_text(broken + "\n", encoding="utf-8")
    out = run_cli("validate", str(broken_first), "--vendor", "openai")
    assert out.returncode == 2
    assert SECRET[-12:] not in out.stdout + out.stderr  # the parser's context is never quoted
    _one_clean_line(out.stderr)


# -- the redaction layer itself ----------------------------------------------------------------


def test_redactor_removes_every_form_and_keeps_the_rest() -> None:
    redactor = Redactor([KEY])
    for name, form in echoes(KEY).items():
        text = f"before {form} after"
        cleaned = redactor.text(text if isinstance(form, str) else json.dumps(form))
        assert not leaked(cleaned), name
        assert "<redacted>" in cleaned
    assert redactor.text("nothing secret here") == "nothing secret here"
    assert redactor.value({KEY: [KEY, 1, None]}) == {"<redacted>": ["<redacted>", 1, None]}
    # The public head of a key is no secret: another key of the same kind stays readable.
    assert redactor.text("sk-proj-remixcheck-invalid-0000") == "sk-proj-remixcheck-invalid-0000"


def test_short_keys_are_redacted_verbatim_without_blotting_out_text() -> None:
    redactor = Redactor(["abc123xy"])
    assert redactor.text("token abc123xy!") == "token <redacted>!"
    assert redactor.text("abc123 is fine") == "abc123 is fine"
    assert Redactor(["ab"]).text("ab ab") == "ab ab"  # too short to tell from text
    assert all(len(f) >= 4 for f in derived_forms("abcd"))


def test_a_large_body_without_the_key_comes_back_unchanged() -> None:
    body = json.dumps({"prompt": "x" * 5_000_000, "id": "video_1"})
    assert Redactor([KEY]).text(body) is body

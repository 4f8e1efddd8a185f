"""`remixcheck validate` on HAR and JSON lines: summaries, JSON output, exit codes, no secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import error_body, run_cli, video, write_jsonl

SECRET = "sk-live-TOPSECRETkey0123456789"


def _record(
    path: str, status: int, body: Any, method: str = "POST", req_body: Any = None
) -> dict[str, Any]:
    return {
        "request": {
            "method": method,
            "url": f"https://api.openai.com{path}",
            "headers": {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
            "body": req_body
            if req_body is not None
            else ({"prompt": "snow"} if method == "POST" else None),
        },
        "response": {
            "status": status,
            "headers": {"Content-Type": "application/json"},
            "body": body,
        },
    }


def _har(entries: list[dict[str, Any]]) -> dict[str, Any]:
    har_entries = []
    for e in entries:
        req, resp = e["request"], e["response"]
        body = req["body"]
        har_entries.append(
            {
                "startedDateTime": "2026-11-21T10:00:00Z",
                "time": 12,
                "request": {
                    "method": req["method"],
                    "url": req["url"],
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in req["headers"].items()],
                    **(
                        {"postData": {"mimeType": "application/json", "text": json.dumps(body)}}
                        if body is not None
                        else {}
                    ),
                },
                "response": {
                    "status": resp["status"],
                    "statusText": "",
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in resp["headers"].items()],
                    "content": {
                        "size": 1,
                        "mimeType": "application/json",
                        "text": json.dumps(resp["body"]),
                    },
                },
            }
        )
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": har_entries,
        }
    }


GOOD = [
    _record("/v1/videos/video_123/remix", 200, video()),
    _record("/v1/videos/video_456", 200, video(status="in_progress", progress=40), method="GET"),
    _record("/v1/videos/video_123/remix", 400, error_body(), req_body={"prompt": ""}),
]
BAD = [
    _record("/v1/videos/video_123/remix", 200, {k: v for k, v in video().items() if k != "prompt"})
]


def test_jsonl_conformant_exits_0(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "ok.jsonl",
        [*GOOD, {"request": {"method": "GET", "url": "https://api.openai.com/v1/models"}}],
    )
    out = run_cli("validate", str(path), "--vendor", "openai")
    # The 400 exchange's own request (empty prompt) is a request violation by design; leave it out here.
    assert out.returncode == 1, out.stdout + out.stderr
    ok = write_jsonl(tmp_path / "ok2.jsonl", GOOD[:2])
    out = run_cli("validate", str(ok), "--vendor", "openai")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 exchanges validated against openai" in out.stdout


def test_violations_exit_1_with_pointer(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", GOOD[:2] + BAD)
    out = run_cli("validate", str(path), "--vendor", "openai", "--format", "json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["exchanges_by_verdict"] == {"pass": 2, "deviation": 0, "violation": 1}
    [finding] = report["findings"]
    assert (finding["pointer"], finding["keyword"], finding["verdict"]) == (
        "/prompt",
        "required",
        "violation",
    )
    assert finding["examples"] == ["bad.jsonl:3"]


def test_har_is_read(tmp_path: Path) -> None:
    path = tmp_path / "traffic.har"
    path.write_text(json.dumps(_har(GOOD[:2] + BAD), indent=2), encoding="utf-8")
    out = run_cli("validate", str(path), "--vendor", "openai", "--format", "json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["validated"] == 3
    assert report["findings"][0]["examples"] == ["traffic.har#entry3"]
    # A minified HAR on one line is a HAR too.
    path.write_text(json.dumps(_har(GOOD[:2])), encoding="utf-8")
    out = run_cli("validate", str(path), "--vendor", "openai")
    assert out.returncode == 0, out.stdout + out.stderr


def test_documented_deviations_pass_unless_strict(tmp_path: Path) -> None:
    minimal = {
        "id": "video_remix_456",
        "object": "video",
        "created_at": 1758941888,
        "status": "queued",
        "model": "m",
    }
    path = write_jsonl(
        tmp_path / "apifree.jsonl", [_record("/v1/openai/videos/video_abc123/remix", 200, minimal)]
    )
    out = run_cli("validate", str(path), "--vendor", "apifree", "--format", "json")
    assert out.returncode == 0, out.stdout
    assert json.loads(out.stdout)["exchanges_by_verdict"]["deviation"] == 1
    assert run_cli("validate", str(path), "--vendor", "apifree", "--strict").returncode == 1
    # Under OpenAI the compat route is not an API path at all: nothing to validate is bad input.
    out = run_cli("validate", str(path), "--vendor", "openai")
    assert out.returncode == 2
    assert "no exchange" in out.stderr
    path = write_jsonl(
        tmp_path / "openai.jsonl", [_record("/v1/videos/video_abc123/remix", 200, minimal)]
    )
    assert run_cli("validate", str(path), "--vendor", "openai").returncode == 1


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    cases = {
        "missing": tmp_path / "nope.jsonl",
        "empty": tmp_path / "empty.har",
        "not har": tmp_path / "other.json",
        "binary": tmp_path / "blob.bin",
    }
    cases["empty"].write_text("", encoding="utf-8")
    cases["not har"].write_text(json.dumps({"hello": [1, 2, 3]}), encoding="utf-8")
    cases["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    for name, path in cases.items():
        out = run_cli("validate", str(path), "--vendor", "openai")
        assert out.returncode == 2, name
        assert "Traceback" not in out.stderr, name
        assert out.stderr.startswith("remixcheck: error:"), (name, out.stderr)
    out = run_cli("validate", str(cases["empty"]), "--vendor", "martian")
    assert (out.returncode, "unknown vendor 'martian'" in out.stderr) == (2, True)
    out = run_cli("validate", "--vendor", "openai")
    assert out.returncode == 2
    assert "Missing argument" in out.stderr


def test_bad_records_are_reported_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(GOOD[0]), "{not json", json.dumps({"request": "x"}), json.dumps(GOOD[1])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = run_cli("validate", str(path), "--vendor", "openai", "--format", "json")
    assert out.returncode == 2
    report = json.loads(out.stdout)
    assert report["validated"] == 2
    assert report["bad_records"] == 2
    assert [b["source"] for b in report["bad_record_examples"]] == [
        "mixed.jsonl:2",
        "mixed.jsonl:3",
    ]
    assert "2 record(s) could not be read" in out.stderr


def test_truncated_har_keeps_what_was_read(tmp_path: Path) -> None:
    text = json.dumps(_har(GOOD[:2] + BAD), indent=1)
    path = tmp_path / "cut.har"
    path.write_text(text[: int(len(text) * 0.8)], encoding="utf-8")
    out = run_cli("validate", str(path), "--vendor", "openai", "--format", "json")
    assert out.returncode == 2
    report = json.loads(out.stdout)
    assert report["validated"] >= 2
    assert report["bad_records"] == 1


def test_key_never_appears_in_output(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "k.jsonl", GOOD + BAD)
    for fmt in ("text", "json"):
        out = run_cli("validate", str(path), "--vendor", "aihubmix", "--format", fmt)
        assert SECRET not in out.stdout + out.stderr
        assert "TOPSECRET" not in out.stdout + out.stderr


def test_har_entries_of_the_wrong_shape_are_bad_records(tmp_path: Path) -> None:
    """A HAR from another tool (or tampered) whose parts have the wrong JSON types: each entry
    is an unreadable record that says what is wrong, never an internal error."""
    good = _har(GOOD[:1])["log"]["entries"][0]
    wrong: list[Any] = [
        5,
        {**good, "request": 5},
        {**good, "response": 5},
        {**good, "request": {**good["request"], "headers": [5]}},
        {**good, "request": {**good["request"], "postData": "x"}},
        {**good, "response": {**good["response"], "content": 5}},
        {**good, "response": {**good["response"], "content": {"text": 5}}},
        {**good, "response": {**good["response"], "headers": [{"name": 5}]}},
    ]
    path = tmp_path / "odd.har"
    path.write_text(json.dumps({"log": {"entries": [good, *wrong]}}), encoding="utf-8")
    out = run_cli("validate", str(path), "--vendor", "openai", "--format", "json")
    assert out.returncode == 2, out.stderr
    assert "internal error" not in out.stderr
    report = json.loads(out.stdout)
    assert report["validated"] == 1
    assert report["bad_records"] == len(wrong)
    reasons = [b["reason"] for b in report["bad_record_examples"]]
    assert all(r.startswith("not a HAR entry: ") for r in reasons), reasons
    # Said in the HAR's terms, not Python's.
    assert not [r for r in reasons if "object" in r and "'" in r], reasons
    assert f"{len(wrong)} record(s) could not be read" in out.stderr

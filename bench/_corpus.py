"""Deterministic test data for the benchmarks: Video responses and recorded exchanges.

Every body is built from a seeded `random.Random`, so two runs (and two machines) measure
the same corpus. Each case says by construction whether its body is valid against the
contract; `bench_validate.py` cross-checks that label against every engine before timing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPENAI = "https://api.openai.com/v1"
JSON_HEADERS = {"content-type": "application/json"}

_STATUSES = ("queued", "in_progress", "completed", "failed")
_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
_MODELS = ("sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-pro-2025-10-06")
_WORDS = (
    "a",
    "cat",
    "surfing",
    "at",
    "dawn",
    "neon",
    "city",
    "in",
    "the",
    "rain",
    "slow",
    "pan",
    "over",
    "hills",
)


@dataclass(frozen=True, slots=True)
class ResponseCase:
    """One response to validate: the operation it answers and the raw bytes of its body."""

    operation: str  # operationId: GetVideo or CreateVideoRemix
    status: int
    headers: dict[str, str]
    body: bytes
    label: str  # e.g. "valid.completed", "invalid.bifrost"
    valid: bool  # by construction: the body satisfies the contract's JSON Schema

    @property
    def schema(self) -> str:
        return (
            "#/components/schemas/VideoResource"
            if self.status < 400
            else "#/components/schemas/ErrorResponse"
        )


def _prompt(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 18)))


def _video_id(rng: random.Random) -> str:
    return f"video_{rng.getrandbits(64):016x}"


def video(rng: random.Random, *, status: str | None = None, remix: bool = False) -> dict[str, Any]:
    """A Video object exactly as the contract wants it (every field present, null where empty)."""
    status = status or rng.choice(_STATUSES)
    created = 1_760_000_000 + rng.randint(0, 10_000_000)
    done = status in ("completed", "failed")
    return {
        "id": _video_id(rng),
        "object": "video",
        "model": rng.choice(_MODELS),
        "status": status,
        "progress": 100 if done else (0 if status == "queued" else rng.randint(1, 99)),
        "created_at": created,
        "completed_at": created + rng.randint(30, 600) if done else None,
        "expires_at": created + 86_400 if status == "completed" else None,
        "prompt": _prompt(rng),
        "size": rng.choice(_SIZES),
        "seconds": rng.choice(("4", "8", "12")),
        "remixed_from_video_id": _video_id(rng) if remix else None,
        "error": {"code": "moderation_blocked", "message": "The prompt was blocked."}
        if status == "failed"
        else None,
    }


def error_envelope(rng: random.Random, status: int) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 404: "invalid_request_error"}.get(status, "server_error")
    return {
        "error": {
            "message": f"Video with id '{_video_id(rng)}' not found."
            if status == 404
            else "Invalid value for 'prompt'.",
            "type": kind,
            "param": None if status == 404 else "prompt",
            "code": None if status == 404 else "invalid_value",
        }
    }


# -- invalid variants ----------------------------------------------------------
# Each takes a valid Video (or nothing) and returns the body a broken server sends.


def _missing_fields(rng: random.Random) -> dict[str, Any]:
    v = video(rng)
    for key in rng.sample(sorted(v), rng.randint(1, 4)):
        del v[key]
    return v


def _wrong_types(rng: random.Random) -> dict[str, Any]:
    v = video(rng)
    v["created_at"] = str(v["created_at"])
    v["seconds"] = int(v["seconds"])
    v["prompt"] = ["not", "a", "string"]
    return v


def _bad_enum(rng: random.Random) -> dict[str, Any]:
    v = video(rng)
    v["status"] = rng.choice(("done", "processing", "succeeded"))
    v["size"] = "1920x1080"
    return v


def _float_progress(rng: random.Random) -> dict[str, Any]:
    v = video(rng, status="in_progress")
    v["progress"] = rng.randint(1, 98) + rng.choice((0.25, 0.5, 0.75))  # never integral
    return v


def _null_id(rng: random.Random) -> dict[str, Any]:
    v = video(rng)
    v["id"] = None
    return v


def _bifrost(rng: random.Random) -> dict[str, Any]:
    """Bifrost: <id>:<provider> ids, empty fields omitted, float progress, free size, extras."""
    v = video(rng, status="in_progress", remix=True)
    v["id"] += ":openai"
    v["remixed_from_video_id"] += ":openai"
    v["progress"] = float(v["progress"]) + 0.5
    v["size"] = "1920x1080"
    for key in ("completed_at", "expires_at", "error"):
        del v[key]
    v["videos"] = []
    v["content_filter"] = None
    v["extra_fields"] = {"provider": "openai", "latency": rng.randint(10, 900)}
    return v


def _apifree_remix(rng: random.Random) -> dict[str, Any]:
    """apifree's remix answer: only id, object, created_at, status and model."""
    v = video(rng, status="queued")
    return {k: v[k] for k in ("id", "object", "created_at", "status", "model")}


def _apifree_retrieve(rng: random.Random) -> dict[str, Any]:
    """apifree's retrieve: `created` instead of `created_at`, integer seconds, no progress."""
    v = video(rng)
    v["created"] = v.pop("created_at")
    v["seconds"] = int(v["seconds"])
    del v["progress"]
    return v


def _bifrost_error(rng: random.Random) -> dict[str, Any]:
    return {
        "is_bifrost_error": True,
        "status_code": 404,
        "error": {"message": f"video {_video_id(rng)}:openai not found"},
        "extra_fields": {"provider": "openai"},
    }


# (label, valid, status, operation or None for either, body builder, weight)
_Builder = Callable[[random.Random], dict[str, Any]]
_MIX: tuple[tuple[str, bool, int, str | None, _Builder, int], ...] = (
    ("valid.video", True, 200, None, lambda r: video(r), 40),
    (
        "valid.remix",
        True,
        200,
        "CreateVideoRemix",
        lambda r: video(r, status="queued", remix=True),
        10,
    ),
    ("valid.failed", True, 200, "GetVideo", lambda r: video(r, status="failed"), 5),
    ("valid.error-400", True, 400, "CreateVideoRemix", lambda r: error_envelope(r, 400), 5),
    ("valid.error-404", True, 404, "GetVideo", lambda r: error_envelope(r, 404), 5),
    ("invalid.missing-fields", False, 200, None, _missing_fields, 6),
    ("invalid.wrong-types", False, 200, None, _wrong_types, 4),
    ("invalid.bad-enum", False, 200, None, _bad_enum, 4),
    ("invalid.float-progress", False, 200, "GetVideo", _float_progress, 4),
    ("invalid.null-id", False, 200, None, _null_id, 3),
    ("invalid.bifrost", False, 200, "GetVideo", _bifrost, 5),
    ("invalid.apifree-remix", False, 200, "CreateVideoRemix", _apifree_remix, 4),
    ("invalid.apifree-retrieve", False, 200, "GetVideo", _apifree_retrieve, 3),
    ("invalid.bifrost-error", False, 404, "GetVideo", _bifrost_error, 2),
)


def response_cases(count: int, seed: int = 2024) -> list[ResponseCase]:
    """`count` responses in the fixed mix above (about 65 % valid), as raw JSON bytes."""
    rng = random.Random(seed)
    weights = [m[-1] for m in _MIX]
    cases = []
    for label, valid, status, operation, build, _ in rng.choices(_MIX, weights=weights, k=count):
        op = operation or rng.choice(("GetVideo", "CreateVideoRemix"))
        body = json.dumps(build(rng), separators=(", ", ": ")).encode()
        cases.append(ResponseCase(op, status, dict(JSON_HEADERS), body, label, valid))
    return cases


# -- recorded exchanges (JSON lines and HAR) --------------------------------------


def exchange_record(rng: random.Random) -> dict[str, Any]:
    """One JSON-lines record: a remix or a retrieve, mostly valid, some with violations."""
    remix = rng.random() < 0.5
    source = _video_id(rng)
    request: dict[str, Any] = {
        "method": "POST" if remix else "GET",
        "url": f"{OPENAI}/videos/{source}/remix" if remix else f"{OPENAI}/videos/{source}",
        "headers": {
            "Authorization": "Bearer sk-proj-abcdefghijklmnop",
            "User-Agent": "OpenAI/Python 3.54.0",
        },
        "body": None,
    }
    if remix:
        request["headers"]["Content-Type"] = "application/json"
        request["body"] = {"prompt": _prompt(rng)}
    roll = rng.random()
    body: Any
    if roll < 0.80:
        status, body = 200, video(rng, status="queued" if remix else None, remix=remix)
    elif roll < 0.88:
        status = 404 if not remix else 400
        body = error_envelope(rng, status)
    else:
        status = 200
        body = rng.choice((_missing_fields, _float_progress, _bad_enum, _null_id, _bifrost))(rng)
    if rng.random() < 0.3:
        body = json.dumps(body)  # recorded as text, as proxies often store it
    response = {
        "status": status,
        "headers": {
            "Content-Type": "application/json",
            "x-request-id": f"req_{rng.getrandbits(48):x}",
        },
        "body": body,
    }
    return {"request": request, "response": response}


def har_entry(record: dict[str, Any]) -> dict[str, Any]:
    """The HAR 1.2 entry for a JSON-lines record."""
    req, resp = record["request"], record["response"]
    body = resp["body"]
    entry_req: dict[str, Any] = {
        "method": req["method"],
        "url": req["url"],
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": k, "value": v} for k, v in req["headers"].items()],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": -1,
    }
    if req["body"] is not None:
        entry_req["postData"] = {"mimeType": "application/json", "text": json.dumps(req["body"])}
    return {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 120.0,
        "request": entry_req,
        "response": {
            "status": resp["status"],
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in resp["headers"].items()],
            "cookies": [],
            "content": {
                "size": -1,
                "mimeType": "application/json",
                "text": body if isinstance(body, str) else json.dumps(body),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 120, "receive": 0},
    }


def record_pool(size: int, seed: int = 7) -> list[dict[str, Any]]:
    """A pool of distinct records; big files cycle through it so generation stays cheap."""
    rng = random.Random(seed)
    return [exchange_record(rng) for _ in range(size)]


def cycle(pool: list[bytes], count: int) -> Iterator[bytes]:
    for i in range(count):
        yield pool[i % len(pool)]


@dataclass(frozen=True, slots=True)
class RecordFile:
    kind: str  # "jsonl" | "har"
    path: Path
    exchanges: int
    size: int  # bytes


def write_jsonl(path: Path, count: int, records: list[dict[str, Any]]) -> RecordFile:
    """`count` records, one JSON object per line, cycling through `records`; streamed to disk."""
    lines = [json.dumps(r).encode() + b"\n" for r in records]
    with path.open("wb", buffering=1 << 20) as fh:
        fh.writelines(cycle(lines, count))
    return RecordFile("jsonl", path, count, path.stat().st_size)


def write_har(path: Path, count: int, records: list[dict[str, Any]]) -> RecordFile:
    """A HAR 1.2 file of `count` entries cycling through `records`; streamed to disk."""
    entries = [json.dumps(har_entry(r)).encode() for r in records]
    with path.open("wb", buffering=1 << 20) as fh:
        fh.write(
            b'{"log": {"version": "1.2", "creator": {"name": "remixcheck-bench", "version": "1"},\n'
        )
        fh.write(b'"entries": [\n')
        for i, entry in enumerate(cycle(entries, count)):
            fh.write(b",\n" + entry if i else entry)
        fh.write(b"\n]}}\n")
    return RecordFile("har", path, count, path.stat().st_size)

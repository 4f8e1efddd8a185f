from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def video(**overrides: Any) -> dict[str, Any]:
    """A Video body that meets the canonical contract; overrides replace fields (None keeps null)."""
    body: dict[str, Any] = {
        "id": "video_456",
        "object": "video",
        "model": "sora-2",
        "status": "queued",
        "progress": 0,
        "created_at": 1712698600,
        "completed_at": None,
        "expires_at": None,
        "prompt": "a cat takes a bow",
        "size": "720x1280",
        "seconds": "8",
        "remixed_from_video_id": "video_123",
        "error": None,
    }
    body.update(overrides)
    return body


class StepClock:
    """A clock for an emulator that advances by `step` seconds at each reading, that is at
    each request, whatever the machine's load: a run then sees every job in the same states
    (a first poll that comes right after the remix always finds it queued)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self._now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += self.step
            return self._now


def error_body(message: str = "bad", code: str | None = "invalid_prompt") -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": "prompt",
            "code": code,
        }
    }


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would (`stdin`: text piped in)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "remixcheck", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def video_body() -> dict[str, Any]:
    return video()


pytest_plugins = ["pytester"]


def emulator_target(emu: Any, api_key_env: str, **overrides: object) -> Any:
    """A run Target for a running emulator (its key, its completed source video)."""
    from remixcheck.conformance.targets import Target

    target = Target(
        name=f"{emu.vendor}-emulator",
        vendor=emu.vendor,
        base_url=emu.base_url,
        api_key_env=api_key_env,
        api_key=emu.api_key,
        video_id=emu.source_video_id,
        emulated=True,
    )
    for name, value in overrides.items():
        setattr(target, name, value)
    return target


def fuzz_case(base_url: str = "http://127.0.0.1:9") -> dict[str, object]:
    """A fuzz case file's data: a retrieve of an unknown id (what `replay` reads)."""
    return {
        "schema": "remixcheck/fuzz-case",
        "version": 1,
        "id": "0123456789ab",
        "target": "t",
        "vendor": "openai",
        "base_url": base_url,
        "api_key_env": "OPENAI_API_KEY",
        "request": {
            "operation": "GetVideo",
            "method": "GET",
            "path": "/v1/videos/video_123",
            "base_path": "/v1",
            "content_type": None,
            "auth": "valid",
            "id_kind": "UNKNOWN",
            "video_id": "video_123",
            "origin": "remixcheck",
            "description": "retrieve",
            "target": "t",
            "body": None,
            "body_encoding": None,
        },
    }

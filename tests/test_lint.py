"""The house's static checks, run by the test command so CI holds them: ruff (lint and
format, configured in pyproject.toml) over src, tests and bench, and mypy --strict over src."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ["src", "tests", "bench", "examples"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", *TREES), ("ruff", "format", "--check", *TREES)],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(command: tuple[str, ...]) -> None:
    done = _run(*command)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict() -> None:
    done = _run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"), "src")
    assert done.returncode == 0, done.stdout + done.stderr

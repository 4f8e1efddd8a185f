"""A Video job's lifecycle: the order its statuses move in and the rules every observer of a
job holds it to. One definition for the catalogue's checks (`conformance/checks`), the
fuzzer's invariants (`fuzzing/invariants.py`) and the proxy's job tracker (`proxy/jobs.py`),
which each turn a broken rule into findings of their own shape.

OpenAI's document lists the statuses (queued, in_progress, completed, failed), not their
order; its SDK's poll() waits while a job is queued or in_progress and stops at completed or
failed, which only works if a job moves forward and stays put once finished."""

from __future__ import annotations

from typing import Any, TypeGuard

ORDER = {"queued": 0, "in_progress": 1, "completed": 2, "failed": 2}
TERMINAL = ("completed", "failed")


def status_went_back(before: str, after: str) -> bool:
    """Whether a job that had status `before` breaks the lifecycle by showing `after`: an
    earlier status, or anything else once it was finished. A status outside the enum is the
    schema's finding, not a move."""
    old, new = ORDER.get(before), ORDER.get(after)
    went_back = old is not None and new is not None and new < old
    return went_back or (before in TERMINAL and after != before)


def progress_fell(before: Any, after: Any) -> bool:
    """Whether progress went down between two answers (both numbers; anything else is the
    schema's finding)."""
    return is_number(before) and is_number(after) and after < before


def is_number(value: Any) -> TypeGuard[float]:
    """A JSON number (a bool is not one, though Python counts it as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""contract/lifecycle.py: the rules the catalogue, the fuzzer and the proxy all hold a job to."""

from __future__ import annotations

import pytest

from remixcheck.contract.lifecycle import is_number, progress_fell, status_went_back


@pytest.mark.parametrize(
    ("before", "after", "broken"),
    [
        ("queued", "queued", False),
        ("queued", "in_progress", False),
        ("queued", "completed", False),
        ("in_progress", "failed", False),
        ("completed", "completed", False),
        ("in_progress", "queued", True),
        ("completed", "in_progress", True),
        ("completed", "failed", True),  # a finished job stays as it finished
        ("failed", "completed", True),
        ("completed", "processing", True),  # nor turns into anything else
        ("in_progress", "processing", False),  # outside the enum: the schema's finding
        ("pending", "queued", False),
    ],
)
def test_status_went_back(before: str, after: str, broken: bool) -> None:
    assert status_went_back(before, after) is broken


def test_progress_fell_only_between_numbers() -> None:
    assert progress_fell(50, 40)
    assert progress_fell(50.5, 50)
    assert not progress_fell(40, 50)
    assert not progress_fell(50, 50)
    assert not progress_fell("50", 40)  # a string is the schema's finding
    assert not progress_fell(True, 0)  # so is a bool, though Python counts it as an int
    assert not progress_fell(None, 10)
    assert is_number(0)
    assert not is_number(False)

"""A stop that lands where Python cannot raise it (a gc or weakref callback, a __del__) prints
nothing, while any other exception there still reaches Python's hook."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from remixcheck.conformance import stopping

class Dies:
    def __init__(self, exc):
        self.exc = exc
    def __del__(self):
        raise self.exc

with stopping.signals_stop():
    Dies(stopping.StopNow())  # what a signal landing in Hypothesis's gc callback raises
    Dies(ValueError("a real bug"))
print("ended")
"""


def test_a_stop_raised_where_it_cannot_propagate_prints_nothing() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ended"
    assert "StopNow" not in out.stderr
    assert "ValueError: a real bug" in out.stderr  # other unraisable errors are still shown

"""A billable budget shared between processes (pytest-xdist workers) through a locked file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from remixcheck.conformance.checks import FREE
from remixcheck.conformance.checks.context import Budget


class FileBudget(Budget):
    """Same contract as Budget; the count lives in a file every process locks while it spends."""

    def __init__(self, path: Path, max_billable: int | None) -> None:
        super().__init__(max_billable)
        self.path = path
        path.touch(exist_ok=True)

    @property
    def sent(self) -> int:
        with self.path.open("r", encoding="ascii") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)
            return _read(fh.read())

    def try_spend(self, billing: str) -> bool:
        if billing == FREE:
            return True
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            sent = _read(os.read(fd, 64).decode("ascii"))
            if self.max_billable is not None and sent >= self.max_billable:
                return False
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(sent + 1).encode("ascii"))
            return True
        finally:
            os.close(fd)  # closing releases the lock


def _read(text: str) -> int:
    return int(text.strip() or 0)

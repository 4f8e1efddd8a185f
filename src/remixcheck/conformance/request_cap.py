"""A hard cap on requests, the pace of `--rate` and the 429 wait budget, each shared by the
transports of one target (`fuzz --workers N`): N senders never pass any of them."""

from __future__ import annotations

import threading
import time


class RequestCap:
    """Counts requests as they are about to leave, under a lock: N senders never pass `limit`."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._taken = 0
        self._lock = threading.Lock()

    @property
    def taken(self) -> int:
        return self._taken

    def take(self) -> bool:
        """Claim one request; False when the cap is spent (nothing may be sent)."""
        with self._lock:
            if self.limit is not None and self._taken >= self.limit:
                return False
            self._taken += 1
            return True

    def spent(self) -> bool:
        return self.limit is not None and self._taken >= self.limit


class WaitBudget:
    """Seconds a target may spend waiting out 429s (`--max-retry-wait`), shared by the
    transports of one target: N workers wait at most that long in all, not N times."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.waited = 0.0
        self._lock = threading.Lock()

    def take(self, seconds: float) -> bool:
        """Claim `seconds` of waiting; False (nothing claimed) when that would pass the limit."""
        with self._lock:
            if self.waited + seconds > self.limit:
                return False
            self.waited += seconds
            return True


class Pacer:
    """Spaces requests at least 1/rate seconds apart, however many transports share it."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._next = 0.0  # the monotonic time from which the next request may leave
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds to wait before sending; the slot is taken, so the next caller waits longer."""
        if not self.rate:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
            return slot - now

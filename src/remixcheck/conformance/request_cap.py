"""A hard cap on requests shared by the transports of one target (`fuzz --workers N`)."""

from __future__ import annotations

import threading


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

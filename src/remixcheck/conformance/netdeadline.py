"""An httpcore network backend whose every read, write and connect stops at a deadline.

httpx's timeouts bound each socket operation, so a server that drips a byte every half
second (in the headers or the body) holds a request for ever. Here each operation's timeout
is cut to what is left of the request's total deadline (connect + headers + whole body),
which the Transport sets before each request, and a stop request (SIGINT/SIGTERM) shuts the
sockets in flight so a blocked read returns at once. Raised errors are httpcore's own, so
httpx maps them as usual and the Transport words them.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from typing import Any

import httpcore

from remixcheck.conformance import stopping


class Clock:
    """The deadline of the request in flight on one Transport, and its live sockets."""

    def __init__(self) -> None:
        self.deadline: float | None = None  # time.monotonic() value; None: no deadline
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """`timeout` cut to what is left of the deadline; raises `error` when nothing is left."""
        if stopping.stopped():
            raise error(stopping.reason())
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("deadline passed")
        return left if timeout is None or math.isinf(timeout) else min(timeout, left)

    def track(self, sock: Any) -> None:
        if isinstance(sock, socket.socket):
            with self._lock:
                self._socks.add(sock)

    def forget(self, sock: Any) -> None:
        with self._lock:
            self._socks.discard(sock)

    def abort(self) -> None:
        """Shut every live socket: a read blocked on one returns at once (from any thread)."""
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, clock: Clock) -> None:
        self._inner = inner
        self._clock = clock
        self._sock = inner.get_extra_info("socket")
        clock.track(self._sock)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, self._clock.bound(timeout, httpcore.ReadTimeout))
        if stopping.stopped():  # the socket was shut under a blocked read
            raise httpcore.ReadError(stopping.reason())
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._clock.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._clock.forget(self._sock)
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._clock.forget(self._sock)
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._clock.bound(timeout, httpcore.ConnectTimeout)
        )
        return _Stream(inner, self._clock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with a Clock on every stream it opens."""

    def __init__(self, clock: Clock) -> None:
        self._inner = httpcore.SyncBackend()
        self.clock = clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = self.clock.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self.clock)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = self.clock.bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), self.clock)

    def sleep(self, seconds: float) -> None:
        stopping.sleep(seconds)

"""Running the proxy: in the foreground until SIGINT/SIGTERM (the CLI) or in a thread (tests, fixture)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from remixcheck.conformance.transport import TransportSettings
from remixcheck.contract import profiles as vendors
from remixcheck.emulator.server import base_url_of, bind
from remixcheck.errors import RemixcheckError, UsageError
from remixcheck.proxy.forward import Captured, Forwarder
from remixcheck.proxy.record import Recorder
from remixcheck.proxy.session import Line, Session
from remixcheck.validation.validator import Validator

START_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 2.0  # seconds open connections get to finish once the proxy stops
# Request lines and headers longer than aiohttp's 8 KiB default still go through unchanged.
MAX_LINE = 65536

OnLine = Callable[[Line], None]


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """What `remixcheck proxy` was asked for."""

    upstream: str
    vendor: str  # profile name or path to a profile file
    host: str = "127.0.0.1"
    port: int = 0
    name: str | None = None
    record: Path | None = None
    strict: bool = False
    transport: TransportSettings = field(default_factory=TransportSettings)
    judge: bool = True  # False: a plain pass-through built the same way (the benchmark's baseline)


def check_upstream(url: str) -> str:
    """The upstream base URL, or a UsageError saying what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--upstream must be an http(s) URL with a host, got {url!r}")
    if parts.query or parts.fragment:
        raise UsageError(f"--upstream must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


class Proxy:
    """The proxy inside one event loop: start on a bound socket, settle, stop."""

    def __init__(self, config: ProxyConfig, on_line: OnLine | None = None) -> None:
        self.config = config
        self.upstream = check_upstream(config.upstream)
        validator = Validator(vendors.load(config.vendor))
        recorder = Recorder(config.record) if config.record is not None else None
        self.session = Session(
            validator,
            name=config.name or f"{validator.profile.id}-proxy",
            upstream=self.upstream,
            strict=config.strict,
            recorder=recorder,
            max_body_bytes=config.transport.max_body_bytes,
        )
        self.on_line = on_line
        # Without judging it still routes and buffers the same way: the benchmark's pass-through
        # differs from the real proxy only in the judging.
        self.forwarder = Forwarder(self.upstream, validator, config.transport, self._enqueue)
        self._runner: web.ServerRunner | None = None
        self._inflight = 0
        self._idle: asyncio.Event | None = None
        self._queue: asyncio.Queue[Captured] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def start(self, sock: socket.socket) -> None:
        self._idle = asyncio.Event()
        self._idle.set()
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._judge_loop())
        await self.forwarder.start()
        server = web.Server(
            self._handle,
            access_log=None,  # a log line per request would carry URLs; and costs time
            auto_decompress=False,  # a compressed request body goes on compressed
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        assert self._idle is not None
        self._inflight += 1
        self._idle.clear()
        try:
            return await self.forwarder.handle(request)
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    def _enqueue(self, captured: Captured) -> None:
        if self.config.judge:
            assert self._queue is not None
            self._queue.put_nowait(captured)

    async def _judge_loop(self) -> None:
        """Judge exchanges one by one, each after the event loop had a turn to forward
        whatever request arrived meanwhile: judging then overlaps its upstream wait."""
        assert self._queue is not None
        while True:
            captured = await self._queue.get()
            await asyncio.sleep(0)
            try:
                self._judge(captured)
            finally:
                self._queue.task_done()

    def _judge(self, captured: Captured) -> None:
        try:
            line = self.session.judge(captured)
        except Exception as exc:  # a judging bug must not cost the client its answer
            captured.error = f"the proxy could not judge this exchange: {type(exc).__name__}: {exc}"
            line = self.session.failed(captured)
        if line is not None and self.on_line is not None:
            self.on_line(line)

    async def settle(self, timeout: float) -> None:
        """Wait until every exchange that has started is answered and judged."""
        assert self._idle is not None
        assert self._queue is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
            await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._queue is not None:
            await self._queue.join()  # every exchange answered is judged before the reports
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.forwarder.close()
        if self.session.recorder is not None:
            self.session.recorder.close()


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it takes a fifth off the proxy's own cost), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform it supports
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(
    config: ProxyConfig,
    on_ready: Callable[[str, Proxy], None] | None = None,
    on_line: OnLine | None = None,
) -> Session:
    """Serve in the foreground until SIGINT or SIGTERM; the session holds what was judged."""
    proxy = Proxy(config, on_line)
    sock = bind(config.host, config.port)
    loop = new_loop()

    async def main() -> Session:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await proxy.start(sock)
        if on_ready is not None:
            on_ready(base_url_of(sock), proxy)
        await stop.wait()
        await proxy.stop()
        return proxy.session

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class RunningProxy:
    """A proxy serving from a background thread; settle() before reading, stop() at the end."""

    def __init__(self, config: ProxyConfig, on_line: OnLine | None = None) -> None:
        self.proxy = Proxy(config, on_line)
        self.session = self.proxy.session
        self.upstream = self.proxy.upstream
        sock = bind(config.host, config.port)
        self.base_url = base_url_of(sock)
        self._loop = new_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="remixcheck-proxy", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._failed is not None:
            sock.close()
            raise RemixcheckError(f"the proxy did not start on {self.base_url}: {self._failed}")

    def _run(self, sock: socket.socket) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                await self.proxy.start(sock)
            except BaseException as exc:
                self._failed = exc
                self._ready.set()
                raise
            self._ready.set()
            await self._stop.wait()
            await self.proxy.stop()

        try:
            self._loop.run_until_complete(main())
        except Exception:  # reported by __init__ through _failed
            pass
        finally:
            self._loop.close()

    def settle(self, timeout: float = 10.0) -> Session:
        """Wait until every exchange so far is judged, then hand over the session."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self.proxy.settle(timeout), self._loop)
            with contextlib.suppress(TimeoutError, RuntimeError):
                future.result(timeout + 1)
        return self.session

    def stop(self) -> Session:
        """Stop serving and wait for the thread; calling it again does nothing."""
        if self._thread.is_alive() and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(START_TIMEOUT + SHUTDOWN_TIMEOUT)
        return self.session

    def __repr__(self) -> str:
        return f"RunningProxy(base_url={self.base_url!r}, upstream={self.upstream!r})"


@contextlib.contextmanager
def running_proxy(config: ProxyConfig, on_line: OnLine | None = None) -> Iterator[RunningProxy]:
    """A proxy on loopback for the duration of the block."""
    proxy = RunningProxy(config, on_line)
    try:
        yield proxy
    finally:
        proxy.stop()

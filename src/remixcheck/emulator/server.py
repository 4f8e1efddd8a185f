"""Run an emulator on a real socket: in a background thread (tests) or blocking (the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

import uvicorn
from starlette.applications import Starlette

from remixcheck.emulator.app import create_app
from remixcheck.emulator.config import EmulatorConfig, generate_api_key
from remixcheck.emulator.state import EmulatorState
from remixcheck.errors import RemixcheckError, UsageError

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class _Server(uvicorn.Server):
    """uvicorn's server, telling its owner once the socket accepts connections."""

    def __init__(
        self, config: uvicorn.Config, on_started: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def _uvicorn_config(app: Starlette) -> uvicorn.Config:
    # log_config=None: the library configures no logging; whoever runs it decides.
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket for any of remixcheck's servers (emulator, cassette, proxy), or a
    UsageError that says why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class ThreadedServer:
    """A Starlette app served by uvicorn from a background thread, started before __init__
    returns; stop() shuts it down and waits for the thread."""

    def __init__(self, app: Starlette, host: str, port: int, name: str) -> None:
        sock = bind(host, port)
        self.base_url = base_url_of(sock)
        self._server = _Server(_uvicorn_config(app))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"remixcheck-{name}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()
                raise RemixcheckError(f"the {name} server did not start on {self.base_url}")
            time.sleep(0.005)

    def stop(self) -> None:
        """Calling it again does nothing."""
        self._server.should_exit = True
        # Connections still open (keep-alive) are closed, not waited for.
        self._server.force_exit = True
        self._thread.join(STOP_TIMEOUT)


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        # Bound to every interface: the loopback address is the one sure to connect.
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class RunningEmulator:
    """An emulator serving in a background thread; stop() shuts it down."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.vendor = config.vendor
        self.api_key = config.api_key
        self.app = create_app(config, clock)
        self.state: EmulatorState = self.app.state.emulator
        self.source_video_id = self.state.source_video_id
        self.pending_video_id = self.state.pending_video_id
        self.failed_video_id = self.state.failed_video_id
        self._served = ThreadedServer(self.app, host, port, f"{self.vendor} emulator")
        self.base_url = self._served.base_url

    def stop(self) -> None:
        """Shut the server down and wait for its thread; calling it again does nothing."""
        self._served.stop()

    def __repr__(self) -> str:
        return f"RunningEmulator(vendor={self.vendor!r}, base_url={self.base_url!r})"


@contextmanager
def running_emulator(
    vendor: str,
    *,
    api_key: str | None = None,
    job_seconds: float = 0.3,
    faults: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    max_body_bytes: int = 1_048_576,
    billable_quota: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[RunningEmulator]:
    """Serve a vendor emulator on a free loopback port for the duration of the block
    (`clock`: what the job lifecycle reads, the monotonic clock unless a test brings its own)."""
    config = EmulatorConfig(
        vendor=vendor,
        api_key=api_key or generate_api_key(vendor),
        job_seconds=job_seconds,
        faults=tuple(faults),
        seed=seed,
        max_body_bytes=max_body_bytes,
        billable_quota=billable_quota,
    )
    emulator = RunningEmulator(config, host=host, port=port, clock=clock)
    try:
        yield emulator
    finally:
        emulator.stop()


def serve(
    config: EmulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[str, str, str], None] | None = None,
) -> None:
    """Serve until interrupted; on_ready(base_url, api_key, source_video_id) runs once it listens."""
    app = create_app(config)
    state = cast(EmulatorState, app.state.emulator)
    sock = bind(host, port)
    base_url = base_url_of(sock)

    def ready() -> None:
        if on_ready is not None:
            on_ready(base_url, config.api_key, state.source_video_id)

    _Server(_uvicorn_config(app), on_started=ready).run(sockets=[sock])

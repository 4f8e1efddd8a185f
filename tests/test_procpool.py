"""procpool: real worker processes, stopped, signalled and killed whatever they are doing."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool

import psutil
import pytest

from remixcheck import procpool

BIG = 8 * 1024 * 1024  # a result that would take many writes through the pool's pipe


def _ready() -> None:
    pass


def _big(n: int) -> bytes:
    return bytes([n % 256]) * BIG


def _patient(seconds: float) -> str:
    """Work that looks at the parent's wish between small steps, as the real tasks do."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        procpool.check()
        time.sleep(0.01)
    return "finished"


def _fails() -> None:
    raise ValueError("a task's own error")


def _stop_within(pool: procpool.Pool, seconds: float) -> bool:
    done = threading.Thread(target=pool.stop, daemon=True)
    done.start()
    done.join(seconds)
    return not done.is_alive()


def _workers() -> list[psutil.Process]:
    return psutil.Process(os.getpid()).children()


def test_results_big_and_small_come_back_whole() -> None:
    pool = procpool.executor(2, _ready, ())
    try:
        assert procpool.result(pool.submit(_big, 7)) == bytes([7]) * BIG
        assert procpool.result(pool.submit(_patient, 0.05)) == "finished"
        with pytest.raises(ValueError, match="a task's own error"):
            procpool.result(pool.submit(_fails))
        assert os.listdir(pool.spill.name) == []  # a big result's file goes once it is read
    finally:
        pool.stop()
    assert not os.path.exists(pool.spill.name)


def test_stop_while_workers_write_big_results() -> None:
    # Killing a worker in the middle of writing its result used to leave the pool's manager
    # thread waiting for the rest of the message for ever, and the run with it.
    for _ in range(3):
        pool = procpool.executor(2, _ready, ())
        futures = [pool.submit(_big, n) for n in range(40)]
        assert len(procpool.result(futures[0], timeout=60)) == BIG
        assert _stop_within(pool, 30), "stop() hung"


def _rest(futures: list[Future[bytes | str]]) -> None:
    for future in futures:
        procpool.result(future, timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_killed_while_writing_break_the_pool_and_nothing_hangs(sig: int) -> None:
    # `timeout`, systemd and `kill -TERM -PGID` signal every process of the group; the
    # out-of-memory killer sends SIGKILL. Their results are big: each is being written.
    for _ in range(3):
        pool = procpool.executor(2, _ready, ())
        futures = [pool.submit(_big, n) for n in range(20)]
        procpool.result(futures[0], timeout=60)
        for worker in _workers():
            worker.send_signal(sig)
        with pytest.raises((BrokenProcessPool, CancelledError)):
            _rest(futures[1:])
        assert _stop_within(pool, 30), "stop() hung"


def test_stop_ends_long_work_early() -> None:
    pool = procpool.executor(2, _ready, ())
    futures = [pool.submit(_patient, 60) for _ in range(4)]
    time.sleep(0.5)  # both workers are inside a task
    started = time.monotonic()
    assert _stop_within(pool, 10)
    assert time.monotonic() - started < 5
    for future in futures:
        with pytest.raises((procpool.Cancelled, CancelledError)):
            procpool.result(future, timeout=1)

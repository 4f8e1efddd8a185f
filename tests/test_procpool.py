"""procpool: stopping a pool of real worker processes, whatever they are doing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError

import pytest

from remixcheck import procpool

BIG = 8 * 1024 * 1024  # a result written to the pool's pipe in many writes


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


def _stop_within(pool: object, cancel: object, seconds: float) -> bool:
    done = threading.Thread(target=procpool.stop, args=(pool, cancel), daemon=True)
    done.start()
    done.join(seconds)
    return not done.is_alive()


def test_stop_while_workers_write_big_results() -> None:
    # Killing a worker in the middle of writing its result used to leave the pool's manager
    # thread waiting for the rest of the message for ever, and the run with it.
    for _ in range(3):
        pool, cancel = procpool.executor(2, _ready, ())
        futures = [pool.submit(_big, n) for n in range(40)]
        assert len(futures[0].result(timeout=60)) == BIG
        assert _stop_within(pool, cancel, 30), "stop() hung"


def test_stop_ends_long_work_early() -> None:
    pool, cancel = procpool.executor(2, _ready, ())
    futures = [pool.submit(_patient, 60) for _ in range(4)]
    time.sleep(0.5)  # both workers are inside a task
    started = time.monotonic()
    assert _stop_within(pool, cancel, 10)
    assert time.monotonic() - started < 5
    for future in futures:
        with pytest.raises((procpool.Cancelled, CancelledError)):
            future.result(timeout=1)


def test_work_goes_on_until_cancelled() -> None:
    pool, cancel = procpool.executor(1, _ready, ())
    assert pool.submit(_patient, 0.1).result(timeout=30) == "finished"
    procpool.stop(pool, cancel)

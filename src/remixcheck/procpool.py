"""Worker processes of the standard library's ProcessPoolExecutor, started and stopped the way
remixcheck's runs need (`validate -j`, `fuzz -j`): Ctrl-C is the parent's to handle, a worker
whose parent is gone ends, and a run that stops early stops its workers at once."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

ORPHAN_POLL_SECONDS = 1.0


def context() -> BaseContext:
    """fork where there is one: a worker then starts with what this process already built
    and imported (and Hypothesis, which draws constants from loaded modules, draws the same)."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def start_worker() -> None:
    """Call first in a pool's initializer."""
    # Ctrl-C reaches the whole process group: a worker's own traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's handlers; it ends when told (stop() terminates).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    # A parent killed outright (SIGKILL, OOM) leaves its workers waiting on a queue whose
    # write end their siblings still hold open: they would wait for ever.
    threading.Thread(target=_end_when_orphaned, args=(parent,), daemon=True).start()


def _end_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_SECONDS)
    os._exit(1)


def stop(pool: ProcessPoolExecutor) -> None:
    """End the workers now, throwing away what they are doing, and wait for the pool."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        for process in list((pool._processes or {}).values()):  # before 3.14, the only way in
            process.terminate()
    # Wait for the pool's manager thread (quick: its workers are gone). Left running, it
    # races the interpreter's exit hook, which then prints a traceback (EBADF on its pipe).
    pool.shutdown(wait=True, cancel_futures=True)

"""Worker processes of the standard library's ProcessPoolExecutor, started and stopped the way
remixcheck's runs need (`validate -j`, `fuzz -j`): Ctrl-C is the parent's to handle, a worker
whose parent is gone ends, and a run that stops early has its workers give up their work.

Workers are asked to stop, never killed: a worker killed while it writes its result leaves
half a message in the pool's pipe, and the pool's manager thread then waits for the rest for
ever (seen with `fuzz -j 2`, whose results pass 16 KiB and go out in two writes). So a worker
checks `cancelled()` between pieces of its work and ends its task early when asked."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from typing import Any

ORPHAN_POLL_SECONDS = 1.0

_cancel: Event | None = None  # in a worker: set by the parent when it gives up on the run


class Cancelled(Exception):
    """Raised in a worker's task when the parent gave up on the run."""


def context() -> BaseContext:
    """fork where there is one: a worker then starts with what this process already built
    and imported (and Hypothesis, which draws constants from loaded modules, draws the same)."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def executor(
    jobs: int, initializer: Callable[..., object], initargs: tuple[Any, ...]
) -> tuple[ProcessPoolExecutor, Event]:
    """A pool of `jobs` workers, each set up by `initializer(*initargs)`, and the event that
    cancels their work (`stop`)."""
    ctx = context()
    cancel = ctx.Event()
    pool = ProcessPoolExecutor(
        jobs, ctx, initializer=_start_worker, initargs=(cancel, initializer, initargs)
    )
    return pool, cancel


def _start_worker(
    cancel: Event, initializer: Callable[..., object], initargs: tuple[Any, ...]
) -> None:
    global _cancel
    _cancel = cancel
    # Ctrl-C reaches the whole process group: a worker's own traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's handlers; one terminated by anyone else just ends.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    # A parent killed outright (SIGKILL, OOM) leaves its workers waiting on a queue whose
    # write end their siblings still hold open: they would wait for ever.
    threading.Thread(target=_end_when_orphaned, args=(parent,), daemon=True).start()
    initializer(*initargs)


def _end_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL_SECONDS)
    os._exit(1)


def cancelled() -> bool:
    """In a worker: whether the parent gave up on the run (its work is no longer wanted)."""
    return _cancel is not None and _cancel.is_set()


def check() -> None:
    """In a worker: raise Cancelled when the parent gave up on the run."""
    if cancelled():
        raise Cancelled


def stop(pool: ProcessPoolExecutor, cancel: Event) -> None:
    """Drop the work not started, have the workers end what they do, and wait for the pool."""
    cancel.set()
    pool.shutdown(wait=True, cancel_futures=True)

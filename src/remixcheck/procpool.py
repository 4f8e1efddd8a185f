"""Worker processes of the standard library's ProcessPoolExecutor, started and stopped the way
remixcheck's runs need (`validate -j`, `fuzz -j`): Ctrl-C is the parent's to handle, a worker
whose parent is gone ends, and a run that stops early has its workers give up their work.

A worker killed while it writes a result to the pool's pipe leaves half a message there, and
the pool's manager thread then waits for the rest for ever (seen with `fuzz -j 2`, whose
results passed 16 KiB and went out in two writes). So:
- what a task returns travels small (`submit`, `result`): a result over SMALL bytes is
  written to a file and only its name goes through the pipe, and a pipe write of up to
  PIPE_BUF bytes is whole or nothing, so a worker killed at any moment (by us, by a signal
  to the whole process group from `timeout` or systemd, by the out-of-memory killer) leaves
  no half message, only a broken pool;
- a run that stops early asks its workers to stop rather than killing them: they check
  `cancelled()` between pieces of their work."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import platform
import select
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from typing import Any, TypeVar

T = TypeVar("T")

ORPHAN_POLL_SECONDS = 1.0
# Pickled result bytes sent through the pipe as they are; the message around them adds a
# few hundred bytes and must stay under PIPE_BUF (4096 on Linux, 512 on macOS).
SMALL = max(256, getattr(select, "PIPE_BUF", 512) // 2)

_cancel: Event | None = None  # in a worker: set by the parent when it gives up on the run
_spill_dir: str | None = None  # in a worker: where results too big for the pipe go


class Cancelled(Exception):
    """Raised in a worker's task when the parent gave up on the run."""


def context() -> BaseContext:
    """fork on Linux: a worker then starts with what this process already built and imported
    (and Hypothesis, which draws constants from loaded modules, draws the same); elsewhere the
    platform's default (spawn: fork is unsafe with macOS's system libraries)."""
    if platform.system() == "Linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


@dataclass
class Pool:
    """A ProcessPoolExecutor, the event that cancels its workers' work, and the folder that
    takes their big results. Submit with `submit`, read with `result`, end with `stop`."""

    executor: ProcessPoolExecutor
    cancel: Event
    spill: tempfile.TemporaryDirectory[str]

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[bytes | str]:
        return self.executor.submit(_call, fn, args)

    def stop(self) -> None:
        """Drop the work not started, have the workers end what they do, wait for them."""
        self.cancel.set()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.spill.cleanup()


def executor(jobs: int, initializer: Callable[..., object], initargs: tuple[Any, ...]) -> Pool:
    """A pool of `jobs` workers, each set up by `initializer(*initargs)`."""
    ctx = context()
    cancel = ctx.Event()
    spill = tempfile.TemporaryDirectory(prefix="remixcheck-results-")
    pool = ProcessPoolExecutor(
        jobs,
        ctx,
        initializer=_start_worker,
        initargs=(cancel, spill.name, initializer, initargs),
    )
    return Pool(pool, cancel, spill)


def result(future: Future[bytes | str], timeout: float | None = None) -> Any:
    """What the task returned (or raised: raised here), read back from the pipe or its file."""
    sent = future.result(timeout)
    if isinstance(sent, str):  # the name of the file that holds it
        with open(sent, "rb") as fh:
            data = fh.read()
        os.unlink(sent)
    else:
        data = sent
    outcome, value = pickle.loads(data)
    if outcome == "raised":
        raise value
    return value


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes | str:
    """Run a task in a worker; its result (or exception) pickled, in a file if big."""
    try:
        data = pickle.dumps(("returned", fn(*args)))
    except BaseException as exc:  # the parent raises it again (`result`)
        try:
            data = pickle.dumps(("raised", exc))
        except Exception:  # an exception that does not pickle: its text does
            data = pickle.dumps(("raised", RuntimeError(f"{type(exc).__name__}: {exc}")))
    if len(data) <= SMALL:
        return data
    assert _spill_dir is not None, "the pool's initializer sets the folder"
    fd, path = tempfile.mkstemp(dir=_spill_dir, suffix=".pickle")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def _start_worker(
    cancel: Event, spill: str, initializer: Callable[..., object], initargs: tuple[Any, ...]
) -> None:
    global _cancel, _spill_dir
    _cancel, _spill_dir = cancel, spill
    # Ctrl-C reaches the whole process group: the parent handles it (it cancels the work),
    # and a worker's own traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's handlers; terminated (the pool does it to the
    # others when one dies), it must just end.
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

"""One process-wide stop flag, so SIGINT and SIGTERM end a run promptly with its results kept.

A signal does not raise inside the tool (Hypothesis, thread pools and blocking reads each
swallow or delay a KeyboardInterrupt); it sets this flag and aborts the sockets in flight.
Every loop of the tool checks the flag between steps and every wait sleeps on it, so a
run winds down in well under a second and still writes what it has, marked interrupted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

EXIT_INTERRUPTED = 130
HARD_EXIT_AFTER = 8.0  # seconds after the signal: the last resort if something ignores the flag

_STOP = threading.Event()
_abort_hooks: list[Callable[[], None]] = []
_hooks_lock = threading.Lock()
_signal_name = ""
_STOP_DONE = threading.Event()
_interruptible = False  # the main thread is in a region a stop may break into (see below)
NUDGE_EVERY = 0.2  # seconds between re-deliveries of the signal while such a region runs


class StopNow(BaseException):
    """Raised in the main thread inside `interruptible()` when a stop is requested.

    A BaseException, so library code that catches Exception does not hold it back.
    """


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Mark CPU-bound library work (Hypothesis generation) that no flag check can reach: a
    stop raises StopNow inside it. Where something swallows that (Hypothesis's gc callback
    does), the signal is delivered again every NUDGE_EVERY seconds until it lands."""
    global _interruptible
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _STOP.is_set():
        raise StopNow
    _interruptible = True
    try:
        yield
    finally:
        _interruptible = False


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Clean-up inside an interruptible region (closing worker processes as a stop unwinds
    the generation) that a re-delivered stop must not break into: the signal only sets the
    flag here."""
    global _interruptible
    was, _interruptible = _interruptible, False
    try:
        yield
    finally:
        _interruptible = was


def stopped() -> bool:
    return _STOP.is_set()


def reason() -> str:
    return f"interrupted ({_signal_name})" if _signal_name else "interrupted"


def sleep(seconds: float) -> bool:
    """Sleep unless stopped; False when the stop flag cut the sleep short (or was set)."""
    if seconds <= 0:
        return not _STOP.is_set()
    return not _STOP.wait(seconds)


def request_stop(name: str = "") -> None:
    """Set the flag and abort what blocks (sockets in flight); safe from a signal handler."""
    global _signal_name
    if name and not _signal_name:
        _signal_name = name
    _STOP.set()
    with _hooks_lock:
        hooks = list(_abort_hooks)
    for hook in hooks:
        with contextlib.suppress(Exception):
            hook()


def add_abort_hook(hook: Callable[[], None]) -> None:
    """Run `hook` when a stop is requested (e.g. shut a transport's sockets)."""
    with _hooks_lock:
        _abort_hooks.append(hook)


def remove_abort_hook(hook: Callable[[], None]) -> None:
    with _hooks_lock:
        if hook in _abort_hooks:
            _abort_hooks.remove(hook)


@contextlib.contextmanager
def signals_stop() -> Iterator[None]:
    """While inside: SIGINT and SIGTERM request a stop instead of raising; a hard exit follows
    HARD_EXIT_AFTER seconds later if the process has not ended by then."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    main_id = threading.main_thread().ident

    def nudge(signum: int) -> None:
        while _STOP.is_set() and not _STOP_DONE.wait(NUDGE_EVERY):
            if _interruptible and main_id is not None:
                signal.pthread_kill(main_id, signum)

    def handler(signum: int, _frame: object) -> None:
        first = not _STOP.is_set()
        request_stop(signal.Signals(signum).name)
        if first:
            timer = threading.Timer(HARD_EXIT_AFTER, os._exit, args=(EXIT_INTERRUPTED,))
            timer.daemon = True
            timer.start()
            threading.Thread(target=nudge, args=(signum,), daemon=True).start()
        if _interruptible:
            raise StopNow

    hook = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        # A signal that lands in a gc or weakref callback (Hypothesis keeps one) raises StopNow
        # where Python can only print it, with a traceback; the stop is already requested, and
        # the nudges deliver it again where it can be raised.
        if not isinstance(unraisable.exc_value, StopNow):
            hook(unraisable)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    sys.unraisablehook = quiet
    try:
        yield
    finally:
        _STOP_DONE.set()  # no more nudges: the work they break into is over
        sys.unraisablehook = hook
        for sig, old in previous.items():
            signal.signal(sig, old)

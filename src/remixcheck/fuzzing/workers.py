"""Where a fuzz session's requests are sent (`--workers N`): inline, or by N threads that
each own a transport (its own connection) and draw on the target's one request cap.

What must stay in order is kept on one thread: every request to the source video or to a
job the run started goes to the worker its id hashes to, in the order it was drawn, with
the follow-ups its answers call for. The rest goes to the least busy worker. A worker
finishes what it was handed; the queues are short, so what is drawn is soon sent."""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from remixcheck.conformance.transport import Transport
from remixcheck.fuzzing.cases import JOB, SOURCE, FuzzRequest

if TYPE_CHECKING:
    from remixcheck.fuzzing.session import Session

_Item = tuple[FuzzRequest, bool]  # a request, and whether it may start a paid job
QUEUE_PER_WORKER = 2  # requests waiting per worker: enough to overlap drawing and sending


class Pool:
    """Sends the session's requests: inline with one transport, on threads with several."""

    def __init__(self, session: Session, transports: Sequence[Transport]) -> None:
        self.session = session
        self.transports = list(transports)
        self._busy = 0
        self._idle = threading.Condition()
        self._queues: list[queue.Queue[_Item | None]] = []
        self._threads: list[threading.Thread] = []
        if len(self.transports) > 1:
            for n, transport in enumerate(self.transports):
                q: queue.Queue[_Item | None] = queue.Queue(QUEUE_PER_WORKER)
                thread = threading.Thread(
                    target=self._work, args=(q, transport), name=f"fuzz-worker-{n}", daemon=True
                )
                self._queues.append(q)
                self._threads.append(thread)
                thread.start()

    def submit(self, request: FuzzRequest, could_bill: bool) -> None:
        """Send `request` (now, or on a worker); `could_bill`: it may start a paid job."""
        session = self.session
        with session.lock:
            session.pending_billable += could_bill
        if not self._queues:
            try:
                session.deliver(request, self.transports[0])
            finally:
                with session.lock:
                    session.pending_billable -= could_bill
            return
        with self._idle:
            self._busy += 1
        self._queue_for(request).put((request, could_bill))

    def _queue_for(self, request: FuzzRequest) -> queue.Queue[_Item | None]:
        if request.id_kind in (SOURCE, JOB) and request.video_id:
            key = zlib.crc32(request.video_id.encode("utf-8", "surrogatepass"))
            return self._queues[key % len(self._queues)]
        return min(self._queues, key=lambda q: q.qsize())

    def _work(self, q: queue.Queue[_Item | None], transport: Transport) -> None:
        session = self.session
        while (item := q.get()) is not None:
            request, could_bill = item
            try:
                if not session.halted:
                    session.deliver(request, transport)
            finally:
                with session.lock:
                    session.pending_billable -= could_bill
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def drain(self) -> None:
        """Wait until every request handed out is sent and judged."""
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0)

    def close(self) -> None:
        self.drain()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join()

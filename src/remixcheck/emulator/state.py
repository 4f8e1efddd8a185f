"""Jobs, their lifecycle clock and the per-emulator counters, all behind one lock."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from remixcheck.contract.profiles import Profile
from remixcheck.emulator.config import EmulatorConfig

FAIL_MARKER = "[fail]"
FAILURE_CODE = "video_generation_failed"
FAILURE_MESSAGE = "The emulator failed this job on purpose: its prompt contains the [fail] marker."
EXPIRES_AFTER = 3600  # seconds from completed_at until the (imaginary) assets expire
QUEUED_SHARE = 0.2  # share of job_seconds a new job spends queued before in_progress
PENDING_PROGRESS = 42.0  # the seeded pending job never moves past this
FAILED_PROGRESS_CEILING = 50.0  # a failing job stalls here, so its progress never drops
MAX_JOBS = 10_000  # oldest created jobs are forgotten beyond this, so a flood cannot exhaust memory

DEFAULT_MODEL = "sora-2"
DEFAULT_SECONDS = "4"
DEFAULT_SIZE = "720x1280"
SOURCE_PROMPT = "A calico cat playing a piano on stage"


@dataclass
class Job:
    video_id: str  # in the vendor's format (Bifrost: native:provider)
    model: str
    prompt: str
    size: str
    seconds: str
    created_wall: float  # time.time() at creation
    started: float  # clock() at creation
    duration: float | None  # None: stays in_progress forever
    fails: bool
    remixed_from: str | None
    provider: str | None = None
    extra_params: dict[str, Any] = field(default_factory=dict)
    reads: int = 0  # retrieves served so far; the lifecycle faults key off it


@dataclass(frozen=True, slots=True)
class JobView:
    """What a job looks like at one instant, before a dialect shapes it."""

    job: Job
    status: str
    progress: float  # 0..100
    created_at: int
    completed_at: int | None
    expires_at: int | None
    error: dict[str, str] | None


class EmulatorState:
    """Everything an emulator remembers. Safe to read from the test thread while it serves."""

    def __init__(
        self,
        config: EmulatorConfig,
        profile: Profile,
        *,
        default_size: str = DEFAULT_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.profile = profile
        self.clock = clock
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.requests: Counter[str] = Counter()  # "POST /v1/videos/{video_id}/remix" -> count
        self.operations: Counter[str] = Counter()  # operationId -> count
        self.billable_jobs = 0  # accepted creates + remixes: each would be a paid generation
        self._next = 0
        self._seeded: frozenset[str] = frozenset()
        now_wall, now = time.time(), clock()
        size = self.default_size = default_size
        source = self._new_job(
            model=DEFAULT_MODEL,
            prompt=SOURCE_PROMPT,
            size=size,
            seconds="8",
            duration=60.0,
            fails=False,
            remixed_from=None,
            provider=profile.video_id.provider,
            age=600.0,
            now_wall=now_wall,
            now=now,
        )
        pending = self._new_job(
            model=DEFAULT_MODEL,
            prompt="A paper boat drifting down a rainy street",
            size=size,
            seconds="8",
            duration=None,
            fails=False,
            remixed_from=None,
            provider=profile.video_id.provider,
            age=30.0,
            now_wall=now_wall,
            now=now,
        )
        failed = self._new_job(
            model=DEFAULT_MODEL,
            prompt=f"A lighthouse in a storm {FAIL_MARKER}",
            size=size,
            seconds="8",
            duration=60.0,
            fails=True,
            remixed_from=None,
            provider=profile.video_id.provider,
            age=600.0,
            now_wall=now_wall,
            now=now,
        )
        self.source_video_id = source.video_id
        self.pending_video_id = pending.video_id
        self.failed_video_id = failed.video_id
        self._seeded = frozenset(self.jobs)

    def _native_id(self) -> str:
        # Deterministic from (seed, vendor, counter) so runs with the same seed get the same ids.
        digest = hashlib.sha256(
            f"{self.config.seed}:{self.profile.id}:{self._next}".encode()
        ).hexdigest()
        self._next += 1
        return f"video_{digest[:32]}"

    def _new_job(
        self,
        *,
        model: str,
        prompt: str,
        size: str,
        seconds: str,
        duration: float | None,
        fails: bool,
        remixed_from: str | None,
        provider: str | None,
        age: float = 0.0,
        now_wall: float | None = None,
        now: float | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> Job:
        native = self._native_id()
        video_id = f"{native}:{provider}" if provider else native
        job = Job(
            video_id=video_id,
            model=model,
            prompt=prompt,
            size=size,
            seconds=seconds,
            created_wall=(time.time() if now_wall is None else now_wall) - age,
            started=(self.clock() if now is None else now) - age,
            duration=duration,
            fails=fails,
            remixed_from=remixed_from,
            provider=provider,
            extra_params=dict(extra_params or {}),
        )
        self.jobs[video_id] = job
        if len(self.jobs) > MAX_JOBS:
            # dicts keep insertion order: the first unseeded key is the oldest created job.
            del self.jobs[next(k for k in self.jobs if k not in self._seeded)]
        return job

    def count(self, route: str, operation: str | None) -> None:
        with self.lock:
            self.requests[route] += 1
            if operation:
                self.operations[operation] += 1

    def start_job(
        self,
        *,
        model: str,
        prompt: str,
        size: str,
        seconds: str,
        remixed_from: str | None,
        provider: str | None,
        extra_params: dict[str, Any] | None = None,
    ) -> JobView | None:
        """Accept a billable job (create or remix) and return its first view; None when over quota."""
        with self.lock:
            quota = self.config.billable_quota
            if quota is not None and self.billable_jobs >= quota:
                return None
            self.billable_jobs += 1
            job = self._new_job(
                model=model,
                prompt=prompt,
                size=size,
                seconds=seconds,
                duration=self.config.job_seconds,
                fails=FAIL_MARKER in prompt,
                remixed_from=remixed_from,
                provider=provider,
                extra_params=extra_params,
            )
            return self._view(job, self.clock())

    def get(self, video_id: str, *, read: bool = False) -> JobView | None:
        """The job's current view; `read` counts it as a poll (retrieve), which lifecycle faults use."""
        with self.lock:
            job = self.jobs.get(video_id)
            if job is None:
                return None
            view = self._view(job, self.clock(), poll=job.reads if read else None)
            if read:
                job.reads += 1
            return view

    def _view(self, job: Job, now: float, poll: int | None = None) -> JobView:
        created_at = int(job.created_wall)
        elapsed = now - job.started
        d = job.duration
        if d is not None and elapsed >= d:
            finished = int(job.created_wall + d)
            if job.fails:
                view = JobView(
                    job,
                    "failed",
                    FAILED_PROGRESS_CEILING,
                    created_at,
                    finished,
                    None,
                    {"code": FAILURE_CODE, "message": FAILURE_MESSAGE},
                )
            else:
                view = JobView(
                    job, "completed", 100.0, created_at, finished, finished + EXPIRES_AFTER, None
                )
        elif d is not None and elapsed < QUEUED_SHARE * d:
            view = JobView(job, "queued", 0.0, created_at, None, None, None)
        else:
            if d is None:
                progress = PENDING_PROGRESS
            else:
                share = (elapsed - QUEUED_SHARE * d) / ((1 - QUEUED_SHARE) * d)
                ceiling = FAILED_PROGRESS_CEILING if job.fails else 99.0
                progress = min(ceiling, max(0.0, share * ceiling))
            view = JobView(job, "in_progress", progress, created_at, None, None, None)
        if poll is not None:
            view = self._lifecycle_faults(view, poll)
        return view

    def _lifecycle_faults(self, view: JobView, poll: int) -> JobView:
        if self.config.has("progress-decreases") and view.status == "in_progress":
            view = JobView(
                view.job,
                view.status,
                max(0.0, 90.0 - 10.0 * poll),
                view.created_at,
                None,
                None,
                None,
            )
        if self.config.has("status-regresses") and view.status == "completed" and poll % 2 == 1:
            view = JobView(view.job, "in_progress", 99.0, view.created_at, None, None, None)
        return view

    def snapshot(self) -> dict[str, Any]:
        """Counters and ids, copied under the lock (for tests and the serve banner)."""
        with self.lock:
            return {
                "requests": dict(self.requests),
                "operations": dict(self.operations),
                "billable_jobs": self.billable_jobs,
                "jobs": len(self.jobs),
                "source_video_id": self.source_video_id,
                "pending_video_id": self.pending_video_id,
                "failed_video_id": self.failed_video_id,
            }

"""What must hold across the exchanges of one job, as the proxy sees them go by.

The catalogue's lifecycle checks poll a job the run started; here the client drives, so
the same rules are applied to whatever jobs pass through: a remix names the video in its
path, every retrieve answers the job asked for and keeps naming the same source, status
only moves forward (and stays put once terminal), progress never falls, and a finished
job has its terminal fields. Findings carry the catalogue's check ids, so a vendor
profile's documented deviations explain them here as they do in a run.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from remixcheck.contract.findings import Finding, Severity, Verdict
from remixcheck.contract.lifecycle import TERMINAL, is_number, status_went_back
from remixcheck.contract.profiles import Profile
from remixcheck.contract.quoting import show

REMIX_OP, CREATE_OP, RETRIEVE_OP = "CreateVideoRemix", "createVideo", "GetVideo"

NEW_ID = "invariant.new-id"
REMIXED_FROM = "invariant.remixed-from"
SAME_JOB = "lifecycle.same-job"
FORWARD = "lifecycle.status-forward"
MONOTONIC = "lifecycle.progress-monotonic"
TERMINAL_FIELDS = "lifecycle.terminal-fields"
CHECKS = (NEW_ID, REMIXED_FROM, SAME_JOB, FORWARD, MONOTONIC, TERMINAL_FIELDS)


@dataclass(slots=True)
class _Job:
    status: str | None = None
    progress: float | None = None
    remixed_from: str | None = None  # what remixed_from_video_id must keep saying
    known_source: bool = False  # remixed_from is known (from the remix path or a first view)


@dataclass(slots=True)
class Observation:
    """The invariant checks one exchange exercised, and what they found."""

    applied: set[str]
    findings: list[Finding]


class JobTracker:
    """The last view of each job seen, bounded to the most recent `limit` jobs."""

    def __init__(self, profile: Profile, limit: int = 10_000) -> None:
        from remixcheck.conformance.checks import catalogue

        self.profile = profile
        self.limit = limit
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        # Each rule's origin (published or convention) and why: the catalogue check's.
        self._origins = {c.id: (c.origin, c.why or None) for c in catalogue() if c.id in CHECKS}

    def observe(self, operation: str, video_id: str | None, status: int, body: Any) -> Observation:
        """Judge one answer of a contract operation against what earlier answers said."""
        seen = Observation(set(), [])
        if not 200 <= status < 300 or not isinstance(body, dict):
            return seen  # errors and non-objects: the contract findings say all there is
        job_id = body.get("id")
        if operation == REMIX_OP and video_id is not None:
            self._remixed(seen, video_id, body, status)
        elif operation == RETRIEVE_OP and video_id is not None:
            self._retrieved(seen, video_id, body, status)
            job_id = video_id
        if not isinstance(job_id, str) or not job_id:
            return seen
        job = self._job(job_id)
        if operation == REMIX_OP and video_id is not None:
            job.remixed_from, job.known_source = video_id, True
        elif operation == CREATE_OP:
            job.remixed_from, job.known_source = None, True
        elif not job.known_source and "remixed_from_video_id" in body:
            job.remixed_from, job.known_source = body["remixed_from_video_id"], True
        self._moved(seen, job, body, operation, status)
        if operation == RETRIEVE_OP:
            self._terminal(seen, body, status)
        return seen

    # -- one rule each ------------------------------------------------------------------------

    def _remixed(self, seen: Observation, source: str, body: dict[str, Any], status: int) -> None:
        seen.applied |= {NEW_ID, REMIXED_FROM}
        new_id = body.get("id")
        fmt = self.profile.video_id
        if isinstance(new_id, str) and fmt.native(new_id) == fmt.native(source):
            seen.findings.append(
                self._finding(
                    NEW_ID,
                    "the remix answers with the source video's id, not a new job's",
                    REMIX_OP,
                    status,
                    "/id",
                    f"an id other than {show(source)}",
                    new_id,
                )
            )
        if "remixed_from_video_id" in body and body["remixed_from_video_id"] != source:
            named = body["remixed_from_video_id"]
            seen.findings.append(
                self._finding(
                    REMIXED_FROM,
                    f"remixed_from_video_id is {show(named)}, but the remix was of {show(source)}",
                    REMIX_OP,
                    status,
                    "/remixed_from_video_id",
                    source,
                    named,
                )
            )

    def _retrieved(self, seen: Observation, vid: str, body: dict[str, Any], status: int) -> None:
        seen.applied.add(SAME_JOB)
        answered = body.get("id")
        if isinstance(answered, str) and answered != vid:
            seen.findings.append(
                self._finding(
                    SAME_JOB,
                    f"retrieve of {show(vid)} answered job {show(answered)}",
                    RETRIEVE_OP,
                    status,
                    "/id",
                    vid,
                    answered,
                )
            )
        job = self._jobs.get(vid)
        if job is None or not job.known_source or "remixed_from_video_id" not in body:
            return
        named = body["remixed_from_video_id"]
        if named != job.remixed_from:
            seen.findings.append(
                self._finding(
                    SAME_JOB,
                    f"remixed_from_video_id of {show(vid)} is {show(named)}, earlier {show(job.remixed_from)}",
                    RETRIEVE_OP,
                    status,
                    "/remixed_from_video_id",
                    job.remixed_from,
                    named,
                )
            )

    def _moved(
        self, seen: Observation, job: _Job, body: dict[str, Any], operation: str, status: int
    ) -> None:
        new_status, progress = body.get("status"), body.get("progress")
        if job.status is not None and isinstance(new_status, str):
            seen.applied.add(FORWARD)
            if status_went_back(job.status, new_status):
                seen.findings.append(
                    self._finding(
                        FORWARD,
                        f"status went from {show(job.status)} back to {show(new_status)}",
                        operation,
                        status,
                        "/status",
                        f"{job.status} or later",
                        new_status,
                    )
                )
        if job.progress is not None and is_number(progress):
            seen.applied.add(MONOTONIC)
            if progress < job.progress:
                seen.findings.append(
                    self._finding(
                        MONOTONIC,
                        f"progress fell from {job.progress:g} to {progress:g}",
                        operation,
                        status,
                        "/progress",
                        f">= {job.progress:g}",
                        progress,
                    )
                )
        if isinstance(new_status, str):
            job.status = new_status
        if is_number(progress):
            job.progress = progress

    def _terminal(self, seen: Observation, body: dict[str, Any], status: int) -> None:
        state = body.get("status")
        if state not in TERMINAL:
            return
        seen.applied.add(TERMINAL_FIELDS)
        if state == "completed":
            for name in ("completed_at", "expires_at"):
                value = body.get(name)
                if not isinstance(value, int) or isinstance(value, bool):
                    seen.findings.append(
                        self._unset(
                            name, body, f"{name} must be set once the job is completed", status
                        )
                    )
            if body.get("error") is not None:
                seen.findings.append(
                    self._finding(
                        TERMINAL_FIELDS,
                        "a completed job carries an error",
                        RETRIEVE_OP,
                        status,
                        "/error",
                        None,
                        body["error"],
                    )
                )
        else:
            error = body.get("error")
            if not (
                isinstance(error, dict)
                and isinstance(error.get("code"), str)
                and isinstance(error.get("message"), str)
            ):
                seen.findings.append(
                    self._unset(
                        "error", body, "a failed job must carry error {code, message}", status
                    )
                )

    # -- findings ---------------------------------------------------------------------------

    def _unset(self, name: str, body: dict[str, Any], message: str, status: int) -> Finding:
        """A terminal field missing or wrong: it must hold a value, so an "omits empty fields"
        dialect cannot explain its absence (the catalogue's absent-field rule, must_be_set)."""
        actual = body.get(name, "absent")
        finding = self._finding(
            TERMINAL_FIELDS, message, RETRIEVE_OP, status, "/" + name, "set", actual
        )
        if name in body or finding.deviation is not None:
            return finding
        deviation = self.profile.explain(
            check="response.body",
            where="response",
            operation=RETRIEVE_OP,
            status=status,
            keyword="required",
            pointer="/" + name,
            must_be_set=True,
        )
        if deviation is None:
            return finding
        return replace(finding, verdict=Verdict.DEVIATION, deviation=deviation)

    def _finding(
        self,
        check: str,
        message: str,
        operation: str,
        status: int,
        pointer: str,
        expected: Any,
        actual: Any,
    ) -> Finding:
        deviation = self.profile.explain(
            check=check,
            where="response",
            operation=operation,
            status=status,
            pointer=pointer,
            actual=actual,
        )
        origin, why = self._origins.get(check, (None, None))
        return Finding(
            check=check,
            verdict=Verdict.DEVIATION if deviation else Verdict.VIOLATION,
            severity=Severity.ERROR,
            message=message,
            where="response",
            location="body",
            pointer=pointer,
            operation=operation,
            expected=expected,
            actual=actual,
            deviation=deviation,
            status=status,
            origin=origin,
            origin_why=why,
        )

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            job = self._jobs[job_id] = _Job()
            if len(self._jobs) > self.limit:
                self._jobs.popitem(last=False)  # a long-running proxy keeps memory flat
        else:
            self._jobs.move_to_end(job_id)
        return job

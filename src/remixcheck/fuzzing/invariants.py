"""What the judge remembers across requests (`Observed`), one answer's judgement (`Judgement`), and
the job invariants a Video answer must keep, written as fuzz findings a profile can explain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remixcheck.contract.findings import Finding, Severity, Verdict, worst_verdict
from remixcheck.contract.lifecycle import is_number, progress_fell, status_went_back
from remixcheck.contract.origins import CONVENTION
from remixcheck.contract.profiles import Profile
from remixcheck.contract.quoting import show
from remixcheck.fuzzing.cases import (
    CHECKS_BY_ID,
    CREATE_OP,
    REMIX_OP,
    RETRIEVE_OP,
    FuzzRequest,
)
from remixcheck.fuzzing.expect import Expectation


@dataclass(slots=True)
class Observed:
    """What a run learned from earlier answers: jobs it started, the last view of each video."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> remixed_from
    last: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> status, progress
    # Jobs a remix was accepted for, before anyone knew they were completed: id -> remix case.
    awaiting: dict[str, str] = field(default_factory=dict)

    def context_for(self, video_id: str | None) -> dict[str, Any]:
        """The part of the state a replay needs to judge a case on this id again."""
        if video_id is None:
            return {}
        out: dict[str, Any] = {}
        if video_id in self.last:
            out["previous"] = dict(self.last[video_id])
        if video_id in self.jobs:
            out["job"] = dict(self.jobs[video_id])
        if video_id in self.awaiting:
            out["remix_accepted_in_case"] = self.awaiting[video_id]
        return out

    @classmethod
    def from_context(cls, video_id: str | None, context: Mapping[str, Any]) -> Observed:
        state = cls()
        if video_id is not None:
            if isinstance(context.get("previous"), dict):
                state.last[video_id] = dict(context["previous"])
            if isinstance(context.get("job"), dict):
                state.jobs[video_id] = dict(context["job"])
            if isinstance(context.get("remix_accepted_in_case"), str):
                state.awaiting[video_id] = context["remix_accepted_in_case"]
        return state


@dataclass(slots=True)
class Judgement:
    request: FuzzRequest
    expectation: Expectation
    status: int | None
    findings: list[tuple[str, Finding]]  # (fuzz check id, finding)
    applies: set[str]  # fuzz checks that judged this case
    accepted_billable: bool = False
    context: dict[str, Any] = field(default_factory=dict)  # state the judgement relied on
    follow_up: FuzzRequest | None = None  # a request that settles what this answer left open
    sent_body: Any = None  # the request body as decoded for judging (JSON value, form fields)

    @property
    def verdict(self) -> Verdict:
        return worst_verdict([f for _, f in self.findings])


class JobInvariants:
    """The job invariants of a Video answer, and the findings of the fuzz judgement.

    Mixed into `Judge`, which holds the profile and the state that spans requests."""

    profile: Profile
    state: Observed

    # -- invariants ------------------------------------------------------------------------

    def _invariants(self, out: Judgement, body: dict[str, Any]) -> None:
        if body.get("object") != "video" and "status" not in body:
            return  # not a Video: the contract findings already say so
        out.applies.add("fuzz.invariants")
        request = out.request
        if request.method == "POST" and request.operation in (REMIX_OP, CREATE_OP):
            self._new_job(out, body)
        elif request.operation == RETRIEVE_OP and request.video_id is not None:
            self._retrieved(out, body, request.video_id)

    def _new_job(self, out: Judgement, body: dict[str, Any]) -> None:
        """A job a create or remix just started: new, naming its source, echoing the prompt."""
        request = out.request
        new_id = body.get("id")
        remix = request.operation == REMIX_OP
        fmt = self.profile.video_id
        source = request.video_id
        if (
            remix
            and source
            and isinstance(new_id, str)
            and fmt.native(new_id) == fmt.native(source)
        ):
            self._invariant(
                out, "invariant.new-id", "the remix reuses the source video id", "/id", new_id
            )
        if remix and "remixed_from_video_id" in body and body["remixed_from_video_id"] != source:
            named = body["remixed_from_video_id"]
            self._invariant(
                out,
                "invariant.remixed-from",
                f"remixed_from_video_id is {show(named, 80)}, expected {show(source, 80)}",
                "/remixed_from_video_id",
                named,
            )
        prompt = _prompt(out.sent_body)
        if "prompt" in body and prompt is not None and body["prompt"] != prompt:
            self._invariant(
                out,
                "invariant.prompt-echo",
                f"prompt is {show(body['prompt'], 80)}, not the prompt sent ({show(prompt, 80)})",
                "/prompt",
                show(body["prompt"]),
            )
        if isinstance(new_id, str) and new_id:
            self.state.jobs[new_id] = {"remixed_from": source if remix else None}

    def _retrieved(self, out: Judgement, body: dict[str, Any], vid: str) -> None:
        """A retrieved job: the one asked for, still naming its source, never going back."""
        new_id, status, progress = body.get("id"), body.get("status"), body.get("progress")
        remix_case = self.state.awaiting.pop(vid, None)
        if remix_case is not None and status in ("queued", "in_progress"):
            self._invariant(
                out,
                "negative.remix-not-completed",
                f"a remix of {show(vid, 80)} was accepted (case {remix_case}) while the video "
                f"was {status}: only completed videos can be remixed",
                "/status",
                status,
            )
        if isinstance(new_id, str) and new_id != vid:
            self._invariant(
                out,
                "lifecycle.same-job",
                f"retrieve of {show(vid, 80)} answered job {show(new_id, 80)}",
                "/id",
                new_id,
            )
        expected_source = (self.state.jobs.get(vid) or {}).get("remixed_from")
        named = body.get("remixed_from_video_id")
        if expected_source and "remixed_from_video_id" in body and named != expected_source:
            self._invariant(
                out,
                "invariant.remixed-from",
                f"remixed_from_video_id is {show(named, 80)}, expected {show(expected_source, 80)}",
                "/remixed_from_video_id",
                named,
            )
        before = self.state.last.get(vid)
        if before is not None and isinstance(status, str):
            if status_went_back(before.get("status", ""), status):
                self._invariant(
                    out,
                    "lifecycle.status-forward",
                    f"status went from {show(before.get('status'))} back to {show(status)}",
                    "/status",
                    status,
                )
            old_progress = before.get("progress")
            if progress_fell(old_progress, progress):
                self._invariant(
                    out,
                    "lifecycle.progress-monotonic",
                    f"progress fell from {old_progress} to {progress}",
                    "/progress",
                    progress,
                )
        if isinstance(status, str):
            kept = progress if is_number(progress) else None
            self.state.last[vid] = {"status": status, "progress": kept}

    def _invariant(
        self, out: Judgement, analog: str, message: str, pointer: str, actual: Any
    ) -> None:
        out.findings.append(
            (
                "fuzz.invariants",
                self._finding(
                    "fuzz.invariants",
                    message,
                    out.request,
                    out.status,
                    expected=analog,
                    actual=actual,
                    location="body",
                    pointer=pointer,
                    keyword=analog,
                    analogs=(analog,),
                ),
            )
        )

    def _finding(
        self,
        check: str,
        message: str,
        request: FuzzRequest,
        status: int | None,
        *,
        expected: Any = None,
        actual: Any = None,
        location: str = "status",
        pointer: str = "",
        keyword: str | None = "status",
        analogs: tuple[str, ...] = (),
        explained: str | None = None,
    ) -> Finding:
        """A finding of the fuzz judgement; a profile deviation written for the catalogue check
        that tests the same thing (`analogs`) explains it too."""
        deviation = explained
        # The fuzz check's own id first: a profile may document a deviation for it directly.
        for analog in (check, *analogs):
            if deviation:
                break
            deviation = self.profile.explain(
                check=analog,
                where="response",
                operation=request.operation,
                status=status,
                keyword=keyword,
                pointer=pointer,
                actual=actual,
            )
        spec = CHECKS_BY_ID.get(check)
        return Finding(
            check=check,
            verdict=Verdict.DEVIATION if deviation else Verdict.VIOLATION,
            severity=Severity.ERROR,
            message=message,
            where="response",
            location=location,
            pointer=pointer,
            operation=request.operation,
            keyword=keyword,
            expected=expected,
            actual=status if actual is None and location == "status" else actual,
            deviation=deviation,
            status=status,
            origin=spec.origin if spec else CONVENTION,
            origin_why=(spec.why or None) if spec else None,
        )


def _prompt(body: Any) -> str | None:
    """The prompt a decoded request body carries, as the server should read it."""
    value = body.get("prompt") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None

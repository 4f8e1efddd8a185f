"""Results of a conformance run: plain data, a versioned JSON form, and secret scrubbing."""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remixcheck.contract.findings import Finding
from remixcheck.contract.quoting import show
from remixcheck.errors import InputError
from remixcheck.results.display import server_message
from remixcheck.traffic.redact import redact

SCHEMA_ID = "remixcheck/results"
SCHEMA_VERSION = 1


class Outcome(enum.StrEnum):
    """How a check ended. `error` means the tool could not finish it, never that the API broke.

    `info`: the check observed a dialect fact where no source says what is right (it never
    fails). `precondition`: the server's state did not let the check judge anything (the
    source video is not completed, or could not be created); the reason says how to fix it.
    """

    PASS = "pass"
    DEVIATION = "deviation"
    VIOLATION = "violation"
    INFO = "info"
    SKIPPED = "skipped"
    PRECONDITION = "precondition"
    ERROR = "error"


# Outcomes that make a run fail: a broken contract, or a run that could not judge.
FAILING = frozenset({Outcome.VIOLATION, Outcome.ERROR, Outcome.PRECONDITION})


@dataclass(slots=True)
class Evidence:
    """One request and what came back, redacted, with a curl line that reproduces it."""

    request: dict[str, Any]
    response: dict[str, Any] | None
    curl: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "response": self.response,
            "curl": self.curl,
            "note": self.note,
        }


@dataclass(slots=True)
class CheckResult:
    check: str
    family: str
    title: str
    outcome: Outcome
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    billable: bool = False
    duration_ms: float = 0.0
    origin: str | None = None  # origins.PUBLISHED / CONVENTION / OBSERVATION of the rule
    origin_why: str | None = None
    fact: str = ""  # the dialect fact an `info` outcome states, e.g. "ignores unknown fields"

    def to_dict(self) -> dict[str, Any]:
        evidence = [e.to_dict() for e in self.evidence]
        return {
            "check": self.check,
            "family": self.family,
            "title": self.title,
            "outcome": self.outcome.value,
            "reason": self.reason,
            # What the server itself said on the check's last error answer, for the reader.
            "server_message": server_message(evidence)
            if self.outcome
            in (Outcome.VIOLATION, Outcome.ERROR, Outcome.DEVIATION, Outcome.PRECONDITION)
            else "",
            "origin": self.origin,
            "origin_why": self.origin_why,
            "fact": self.fact,
            "deviations": self.deviations,
            "billable": self.billable,
            "duration_ms": round(self.duration_ms, 1),
            "findings": [f.to_dict() for f in self.findings],
            "evidence": evidence,
        }


@dataclass(slots=True)
class TargetResult:
    name: str
    vendor: str
    base_url: str
    api_key_env: str | None
    emulated: bool
    source_video_id: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    requests_sent: int = 0
    billable_sent: int = 0
    max_billable: int | None = None
    observed_videos: list[dict[str, Any]] = field(
        default_factory=list
    )  # Video bodies, for the field matrix
    duration_ms: float = 0.0
    key_refused: str | None = None  # "the server refused the key: 401 ...", once diagnosed
    client_impact: dict[str, Any] | None = None  # see remixcheck.clients.impact

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in Outcome}
        for c in self.checks:
            out[c.outcome.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "emulated": self.emulated,
            "source_video_id": self.source_video_id,
            "requests_sent": self.requests_sent,
            "billable_sent": self.billable_sent,
            "max_billable": self.max_billable,
            "duration_ms": round(self.duration_ms, 1),
            "counts": self.counts(),
            "key_refused": self.key_refused,
            "checks": [c.to_dict() for c in self.checks],
            "observed_videos": self.observed_videos,
        } | ({"client_impact": self.client_impact} if self.client_impact is not None else {})


@dataclass(slots=True)
class RunResult:
    tool_version: str
    spec_version: str
    spec_sha256: str
    started_at: str
    finished_at: str = ""
    strict: bool = False
    targets: list[TargetResult] = field(default_factory=list)
    interrupted: bool = False  # SIGINT/SIGTERM: the results are partial

    def failing(self) -> bool:
        """True when any check ended in violation, error or precondition (deviations too under --strict),
        or when a target proved nothing (see `proved_nothing`)."""
        bad = set(FAILING) | ({Outcome.DEVIATION} if self.strict else set())
        return any(c.outcome in bad for t in self.targets for c in t.checks) or any(
            proved_nothing(t.to_dict()) for t in self.targets
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "version": SCHEMA_VERSION,
            "tool_version": self.tool_version,
            "spec": {"version": self.spec_version, "sha256": self.spec_sha256},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "strict": self.strict,
            "interrupted": self.interrupted,
            "billable_sent": sum(t.billable_sent for t in self.targets),
            "targets": [t.to_dict() for t in self.targets],
        }


# Outcomes that say something about the server; a target with none of them proved nothing.
JUDGED = frozenset({Outcome.PASS.value, Outcome.DEVIATION.value, Outcome.VIOLATION.value})


def proved_nothing(target: dict[str, Any]) -> bool:
    """A target whose every check was skipped or ended in error, or whose key was refused:
    a run like that must not pass for conformant."""
    if target.get("key_refused"):
        return True
    return not any(c.get("outcome") in JUDGED for c in target.get("checks", []))


def scrub(value: Any, secrets: Iterable[str | None]) -> Any:
    """A copy of a JSON-like value without any form of these (or any registered) keys."""
    return redact(value, secrets)


def write_json(data: dict[str, Any], path: Path) -> Path:
    """Write atomically: a reader sees the old file or the new one, and no temporary is left."""
    data = redact(data)  # callers scrub already; a key registered since must not slip through
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate somewhere: ASCII escapes are still JSON
        text = json.dumps(data, indent=2, ensure_ascii=True, default=str).encode("ascii")
    write_atomic(text, path)
    return path


def write_atomic(content: bytes, path: Path) -> None:
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


OUTPUT_NAMES = ("results.json", "junit.xml", "compat.html")


def check_report_dir(report_dir: Path) -> None:
    """Fail before any request is sent when the results could not be written there."""
    import os
    import tempfile

    if report_dir.exists() and not report_dir.is_dir():
        raise InputError(f"--report-dir {report_dir} is not a directory")
    for name in OUTPUT_NAMES:
        if (report_dir / name).is_dir():
            raise InputError(f"--report-dir {report_dir}: {name} there is a directory")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".remixcheck-probe.", dir=report_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            f"--report-dir {report_dir} is not writable: {exc.strerror or exc}"
        ) from None


def merge_catalogue(existing: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A run's results laid over an existing results.json of the same contract.

    The reverse of the fuzz merge: a target of the same name gets this run's catalogue
    checks and keeps its fuzz checks (and their request counts); other targets are kept.
    A results file of another contract is replaced.
    """
    if existing is None or existing.get("spec") != new.get("spec"):
        return new
    merged = dict(new)
    targets = [dict(t) for t in new.get("targets", [])]
    names = {t["name"] for t in targets}
    by_name = {t.get("name"): t for t in existing.get("targets", [])}
    for t in targets:
        old = by_name.get(t["name"])
        if not isinstance(old, dict) or not (fuzz := old.get("fuzz")):
            continue
        t["checks"] = list(t["checks"]) + [
            c for c in old.get("checks", []) if c.get("family") == FUZZ_FAMILY
        ]
        for key in ("requests_sent", "billable_sent"):
            t[key] = int(t.get(key, 0)) + int(fuzz.get(key, 0))
        t["fuzz"] = fuzz
        t["counts"] = {
            o.value: sum(1 for c in t["checks"] if c.get("outcome") == o.value) for o in Outcome
        }
    # A target this run did not visit stays only for its fuzz results (the reason to merge).
    kept = [t for t in existing.get("targets", []) if t.get("name") not in names and t.get("fuzz")]
    merged["targets"] = kept + targets
    merged["billable_sent"] = sum(int(t.get("billable_sent", 0)) for t in merged["targets"])
    return merged


FUZZ_FAMILY = "fuzz"


def load_versioned(path: Path, schema_id: str, version: int, what: str) -> dict[str, Any]:
    """Read one of our versioned JSON files (results, fuzz cases), checking kind and version."""
    import stat

    from remixcheck.traffic import jsonsafe

    try:
        if not stat.S_ISREG(path.stat().st_mode):  # /dev/zero, a FIFO: never read to the end
            raise InputError(f"{path}: not a regular file")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        # Deeper than the findings' own values may nest, far below any stack limit.
        data = jsonsafe.decode(raw, max_depth=500)
    except ValueError as exc:
        raise InputError(f"{path}: not a {what} (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("schema") != schema_id:
        raise InputError(f'{path}: not a remixcheck {what} (no "schema": "{schema_id}")')
    if data.get("version") != version:
        raise InputError(
            f"{path}: {what} version {show(data.get('version'), 40)} is not supported (expected {version})"
        )
    return data


def load_results(path: Path) -> dict[str, Any]:
    """Read a results.json, checking it is one of ours and of a version we understand."""
    data = load_versioned(path, SCHEMA_ID, SCHEMA_VERSION, "results file")
    targets = data.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise InputError(f'{path}: not a valid results file ("targets" must be a list of objects)')
    return data

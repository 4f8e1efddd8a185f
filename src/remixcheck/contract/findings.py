"""Finding, Severity and Verdict: plain frozen data describing what the API under test did."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "pass"
    DEVIATION = "deviation"
    VIOLATION = "violation"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {Verdict.PASS: 0, Verdict.DEVIATION: 1, Verdict.VIOLATION: 2}


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# Not frozen: a frozen dataclass costs four times as much to build (object.__setattr__ per
# field), findings are built in the hot path of bulk validation, and the dict field makes
# a Finding unhashable anyway. Treat it as read-only; use dataclasses.replace to derive one.
@dataclass(slots=True)
class Finding:
    """One way an exchange departs from the canonical contract (or a note about it).

    `pointer` is a JSON pointer into the body when `location` is "body"; otherwise it
    names the header, or is empty for status / content-type / path findings.
    """

    check: str
    verdict: Verdict
    severity: Severity
    message: str
    where: str  # "request" | "response"
    location: str  # "body" | "header" | "status" | "content-type" | "path" | "auth"
    pointer: str = ""
    operation: str | None = None
    keyword: str | None = None
    expected: Any = None
    actual: Any = None
    spec_location: str | None = None
    origin: str | None = None  # origins.PUBLISHED / CONVENTION / OBSERVATION
    origin_why: str | None = None  # where the rule comes from, in words (x-remixcheck-why)
    deviation: str | None = None
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["severity"] = str(self.severity)
        return data


def worst_verdict(findings: list[Finding] | tuple[Finding, ...]) -> Verdict:
    """The verdict of a set of findings: violation beats deviation beats pass; info never counts."""
    worst = Verdict.PASS
    for f in findings:
        if f.severity is not Severity.INFO and f.verdict.rank > worst.rank:
            worst = f.verdict
    return worst


def best_first(findings: list[Finding]) -> list[Finding]:
    """Order findings so the most relevant comes first: violations, errors, shallow pointers."""
    sev = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(
        findings,
        key=lambda f: (
            -f.verdict.rank,
            sev[f.severity],
            f.keyword in ("anyOf", "oneOf"),
            f.pointer.count("/"),
            f.pointer,
        ),
    )

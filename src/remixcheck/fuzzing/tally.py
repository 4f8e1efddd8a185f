"""Judgements aggregated into fuzz.* check results, with bounded evidence per check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from remixcheck.conformance.checks.context import evidence
from remixcheck.conformance.transport import Sent
from remixcheck.contract.findings import Finding, Severity, Verdict, worst_verdict
from remixcheck.fuzzing.cases import CHECK_IDS, EVIDENCE_PER_CHECK, FAMILY, FUZZ_CHECKS
from remixcheck.fuzzing.invariants import Judgement
from remixcheck.results.model import CheckResult, Evidence, Outcome


@dataclass(slots=True)
class _Entry:
    finding: Finding
    cases: int = 0
    case_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tally:
    """Findings of a whole run, one bucket per fuzz check, deduplicated as they arrive."""

    strict: bool = False
    judged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECK_IDS, 0))
    entries: dict[str, dict[tuple[Any, ...], _Entry]] = field(
        default_factory=lambda: {c: {} for c in CHECK_IDS}
    )
    evidence: dict[str, list[Evidence]] = field(default_factory=lambda: {c: [] for c in CHECK_IDS})
    failing_cases: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECK_IDS, 0))

    def add(self, judgement: Judgement, sent: Sent) -> bool:
        """Count one judged case; True when it fails in a way no earlier case did (worth keeping)."""
        for check in judgement.applies:
            self.judged[check] += 1
        new = False
        counted: set[str] = set()
        case_id = judgement.request.case_id
        for check, f in judgement.findings:
            key = (f.check, f.operation, f.status, f.pointer, f.keyword, f.verdict)
            entry = self.entries[check].get(key)
            if entry is None:
                entry = self.entries[check][key] = _Entry(f)
                new = new or self.failing(f)
            entry.cases += 1
            if len(entry.case_ids) < 5:
                entry.case_ids.append(case_id)
            if check in counted or not self.failing(f):
                continue
            counted.add(check)
            self.failing_cases[check] += 1
            if len(self.evidence[check]) < EVIDENCE_PER_CHECK:
                ev = evidence(sent)
                ev.note = (
                    f"case {case_id} ({judgement.request.description}); "
                    f"expected: {judgement.expectation.why}"
                )
                self.evidence[check].append(ev)
        return new

    def failing(self, f: Finding) -> bool:
        return f.severity is not Severity.INFO and (
            f.verdict is Verdict.VIOLATION or (self.strict and f.verdict is Verdict.DEVIATION)
        )

    def results(
        self,
        *,
        skipped: Mapping[str, str],
        duration_ms: float,
        billable: bool,
        broken_off: str | None = None,
    ) -> list[CheckResult]:
        """One CheckResult per fuzz check. `broken_off` says why the target stopped answering:
        checks that judged nothing end in error (the tool could not finish), never in a pass."""
        out = []
        for spec in FUZZ_CHECKS:
            entries = sorted(
                self.entries[spec.id].values(),
                key=lambda e: (-e.finding.verdict.rank, -e.cases, e.finding.pointer),
            )
            findings = [
                replace(
                    e.finding, extra={**e.finding.extra, "cases": e.cases, "case_ids": e.case_ids}
                )
                for e in entries
            ]
            judged = self.judged[spec.id]
            verdict = worst_verdict(findings)
            if spec.id in skipped and not judged:
                outcome, reason = Outcome.SKIPPED, skipped[spec.id]
            elif broken_off and not judged:
                outcome, reason = Outcome.ERROR, broken_off
            elif not judged:
                outcome, reason = Outcome.SKIPPED, "no case of this kind was sent within the budget"
            else:
                outcome = {
                    Verdict.PASS: Outcome.PASS,
                    Verdict.DEVIATION: Outcome.DEVIATION,
                    Verdict.VIOLATION: Outcome.VIOLATION,
                }[verdict]
                failing = self.failing_cases[spec.id]
                reason = f"{judged} case(s) judged, {failing} failing, {len(findings)} distinct finding(s)"
                if broken_off:
                    reason += f"; then {broken_off}"
            out.append(
                CheckResult(
                    check=spec.id,
                    family=FAMILY,
                    title=spec.title,
                    outcome=outcome,
                    reason=reason,
                    findings=findings,
                    evidence=list(self.evidence[spec.id]),
                    deviations=sorted({f.deviation for f in findings if f.deviation}),
                    billable=billable,
                    duration_ms=duration_ms,
                    origin=spec.origin,
                    origin_why=spec.why or None,
                )
            )
        return out

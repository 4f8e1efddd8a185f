"""The report model as frozen views: what the templates and the terminal render, nothing to compute."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from remixcheck.contract.origins import label as origin_label
from remixcheck.report.causes import Cause
from remixcheck.report.vocabulary import FIELD_LABELS, LABELS, NOT_RUN, OUTCOMES, SYMBOLS


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One results file."""

    index: int  # 1-based, as shown to the reader
    started_at: str
    finished_at: str
    tool_version: str
    spec_version: str
    spec_sha256: str
    strict: bool
    billable_sent: int
    target_names: tuple[str, ...]

    @property
    def spec_short(self) -> str:
        return self.spec_sha256[:12]


@dataclass(frozen=True, slots=True)
class Score:
    passed: int
    deviations: int
    applicable: int  # every check that ran: not skipped, not missing

    @property
    def percent(self) -> int | None:
        return round(100 * self.passed / self.applicable) if self.applicable else None

    @property
    def compatible_percent(self) -> int | None:
        """Pass plus documented deviations: what a client written for this vendor can rely on."""
        return (
            round(100 * (self.passed + self.deviations) / self.applicable)
            if self.applicable
            else None
        )

    @property
    def text(self) -> str:
        return f"{self.passed}/{self.applicable}"


@dataclass(frozen=True, slots=True)
class Target:
    """One column: a target of one results file."""

    col: int
    key: str  # "t0", "t1": safe in attributes and selectors, unlike the target's name
    name: str
    display_name: str  # name, disambiguated when two results files reuse it
    vendor: str
    vendor_name: str
    base_url: str
    emulated: bool
    api_key_env: str | None
    source_video_id: str | None
    requests_sent: int
    billable_sent: int
    max_billable: int | None
    duration_ms: float
    run: int
    counts: Mapping[str, int]
    score: Score

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def bar(self) -> tuple[tuple[str, float, float, int], ...]:
        """Stacked-bar segments (outcome, x %, width %, count) over every row of the matrix."""
        out, x = [], 0.0
        for outcome in (*OUTCOMES, NOT_RUN):
            n = self.counts.get(outcome, 0)
            if n:
                width = 100.0 * n / self.total
                out.append((outcome, round(x, 3), round(width, 3), n))
                x += width
        return tuple(out)


@dataclass(frozen=True, slots=True)
class DeviationRef:
    id: str
    reason: str
    source: str
    documented: bool  # False: the id is not in the vendor's bundled profile


@dataclass(frozen=True, slots=True)
class FindingView:
    verdict: str
    severity: str
    message: str
    where: str
    location: str
    pointer: str
    operation: str
    status: int | None
    keyword: str
    expected: str
    actual: str
    spec_location: str
    origin: str
    deviation: DeviationRef | None
    count: int = 1
    origin_why: str = ""

    @property
    def origin_label(self) -> str:
        return origin_label(
            self.origin, self.origin_why
        )  # identical findings (one per poll) are shown once with a count


@dataclass(frozen=True, slots=True)
class ExchangeView:
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str | None
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: str | None
    truncated: bool  # the tool stopped reading the body at its size cap
    elapsed_ms: float | None
    curl: str
    note: str

    @property
    def summary(self) -> str:
        got = f"{self.status}" if self.status is not None else "no response"
        return f"{self.method} {self.url} → {got}"


@dataclass(frozen=True, slots=True)
class Cell:
    row: int
    col: int
    outcome: str
    reason: str
    findings: tuple[FindingView, ...]
    finding_total: int
    exchanges: tuple[ExchangeView, ...]
    deviations: tuple[DeviationRef, ...]
    duration_ms: float
    exchanges_left_out: int = 0
    exchanges_gap_at: int = -1  # index of the first exchange after the left-out ones
    findings_left_out: int = 0
    server_message: str = ""  # the server's own words on the check's last error answer
    origin: str = ""  # of the rule the check holds, with its why (origins.py)
    fact: str = ""  # the dialect fact of an `info` cell

    @property
    def anchor(self) -> str:
        return f"cell-{self.row}-{self.col}"

    @property
    def label(self) -> str:
        return LABELS[self.outcome]

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.outcome]

    @property
    def has_detail(self) -> bool:
        return self.outcome not in ("pass", NOT_RUN)


@dataclass(frozen=True, slots=True)
class CheckRow:
    index: int
    id: str
    family: str
    family_key: str
    title: str
    description: str
    billing: str
    severity: str
    in_catalogue: bool
    cells: tuple[Cell, ...]

    @property
    def anchor(self) -> str:
        return f"chk-{self.index}"

    @property
    def desc_anchor(self) -> str:
        return f"desc-{self.index}"

    @property
    def detail_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.has_detail)


@dataclass(frozen=True, slots=True)
class Family:
    key: str
    name: str
    checks: int


@dataclass(frozen=True, slots=True)
class FieldCell:
    col: int
    bodies: int
    counts: tuple[tuple[str, int], ...]  # (kind, n), worst kind first, zero counts left out
    examples: tuple[str, ...]  # offending values, clipped

    @property
    def worst(self) -> str:
        return self.counts[0][0] if self.counts else "none"

    @property
    def parts(self) -> tuple[str, ...]:
        if self.counts == (("absent", self.bodies),):
            # an extra field this target never sent: no fraction needed
            return (FIELD_LABELS["absent"],)
        return tuple(f"{FIELD_LABELS[k]} {n}/{self.bodies}" for k, n in self.counts)


@dataclass(frozen=True, slots=True)
class FieldRow:
    name: str
    canonical: bool
    required: bool
    expects: str  # e.g. "string or null", "string ∈ {queued, …}"
    cells: tuple[FieldCell, ...]


@dataclass(frozen=True, slots=True)
class FieldSummary:
    """One target's headline: which fields it omits, mistypes, or adds."""

    col: int
    bodies: int
    lines: tuple[tuple[str, tuple[str, ...]], ...]  # (label, field names)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    index: int  # the matrix row index, so the anchors agree
    id: str
    family: str
    title: str
    description: str
    billing: str
    severity: str
    in_catalogue: bool

    @property
    def anchor(self) -> str:
        return f"desc-{self.index}"


@dataclass(frozen=True, slots=True)
class ProfileDeviation:
    id: str
    reason: str
    source: str
    cells: int  # how many matrix cells of this run it explains


@dataclass(frozen=True, slots=True)
class ProfileView:
    vendor: str
    name: str
    summary: str
    sources: tuple[str, ...]
    deviations: tuple[ProfileDeviation, ...]
    found: bool  # False: the results name a vendor this installation has no profile for
    upstream: str = (
        ""  # the profile's note on its upstream (OpenAI: deprecated, shutdown announced)
    )


@dataclass(frozen=True, slots=True)
class Section:
    kind: str
    anchor: str
    title: str


@dataclass(frozen=True, slots=True)
class MatrixSection(Section):
    rows: tuple[CheckRow, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSection(Section):
    rows: tuple[FieldRow, ...] = ()
    summaries: tuple[FieldSummary, ...] = ()
    extra_dropped: int = 0
    spec_note: str = ""


@dataclass(frozen=True, slots=True)
class DrilldownSection(Section):
    rows: tuple[CheckRow, ...] = ()  # only rows with at least one non-passing cell


@dataclass(frozen=True, slots=True)
class CatalogueSection(Section):
    entries: tuple[CatalogueEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfilesSection(Section):
    profiles: tuple[ProfileView, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportModel:
    title: str
    runs: tuple[RunInfo, ...]
    targets: tuple[Target, ...]
    families: tuple[Family, ...]
    rows: tuple[CheckRow, ...]
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]
    outcomes: tuple[str, ...]  # the verdicts that occur, in display order (for the filters)
    totals: Mapping[str, int] = field(default_factory=dict)
    billable_sent: int = 0
    # Per target (display name): its failing findings grouped by root cause.
    causes: tuple[tuple[str, tuple[Cause, ...]], ...] = ()
    notices: tuple[str, ...] = ()  # facts about the contract itself (upstream deprecation)

    def section(self, kind: str) -> Section:
        for s in self.sections:
            if s.kind == kind:
                return s
        raise KeyError(kind)

    def summary(self) -> dict[str, Any]:
        """A machine-readable digest (embedded in the page as an inert JSON blob)."""
        return {
            "runs": [
                {
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "spec_sha256": r.spec_sha256,
                }
                for r in self.runs
            ],
            "targets": [
                {
                    "name": t.display_name,
                    "vendor": t.vendor,
                    "counts": dict(t.counts),
                    "passed": t.score.passed,
                    "applicable": t.score.applicable,
                    "billable_sent": t.billable_sent,
                }
                for t in self.targets
            ],
            "checks": len(self.rows),
            "billable_sent": self.billable_sent,
        }

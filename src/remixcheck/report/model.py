"""The compatibility report as plain data: results.json dicts in, targets side by side out.

Nothing here knows about HTML. Every string that came from a server (or from a results
file someone could have edited) is kept as plain text; escaping is the template's job,
with autoescape on. Long values are clipped here so the rendered page stays small.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from remixcheck.contract.origins import label as origin_label
from remixcheck.contract.quoting import show
from remixcheck.report.causes import Cause, group
from remixcheck.results.display import short_id, short_ids

OUTCOMES = ("pass", "deviation", "violation", "info", "skipped", "precondition", "error")
NOT_RUN = "not-run"  # a merged column whose results file has no row for this check
# Outcomes that are no verdict on the server: left out of the pass rate.
NOT_JUDGED = ("skipped", "info", "precondition", NOT_RUN)
LABELS = {
    "pass": "pass",
    "deviation": "deviation",
    "violation": "violation",
    "info": "dialect fact",
    "skipped": "skipped",
    "precondition": "precondition",
    "error": "error",
    NOT_RUN: "not run",
}
# Shapes as well as colours, so the matrix reads in greyscale and for colour-blind readers.
SYMBOLS = {
    "pass": "✓",
    "deviation": "≈",
    "violation": "✗",
    "info": "i",
    "skipped": "\u2013",
    "precondition": "?",
    "error": "!",
    NOT_RUN: "·",
}

# Field-matrix observations, worst first (the order cells list them in).
FIELD_KINDS = (
    "wrong-type",
    "out-of-enum",
    "invalid",
    "omitted",
    "null",
    "extra",
    "present",
    "absent",
)
FIELD_LABELS = {
    "wrong-type": "wrong type",
    "out-of-enum": "out of enum",
    "invalid": "invalid value",
    "omitted": "omitted",
    "null": "null",
    "extra": "extra field",
    "present": "present",
    "absent": "not sent",
}

# Clip limits. A vendor may echo the 32 KB prompt in every poll; the page must stay well
# under 2 MB for four targets, so bodies and values are cut here with a visible marker.
BODY_CLIP = 3000
HEADER_CLIP = 300
VALUE_CLIP = 400
MESSAGE_CLIP = 1000
EXAMPLE_CLIP = 60
CURL_CLIP = 1500
REQUEST_CLIP = 2000
MAX_HEADERS = 40  # per request or response; a hostile server can send thousands
REASON_CLIP = 2000
NAME_CLIP = 120
MAX_EXTRA_FIELDS = 40  # a hostile server could send thousands of keys
MAX_EXAMPLES = 3
# A real vendor's job may take a hundred polls, each an exchange in lifecycle.polls-valid:
# a cell keeps the first and the last few (results.json keeps them all).
EXCHANGES_HEAD = 5
EXCHANGES_TAIL = 3
MAX_FINDINGS = 60  # distinct findings per cell, after identical ones are grouped
# The page budget. The clips above keep one exchange readable; these keep the whole page
# under 2 MB however many cells fail: every non-passing cell gets an equal share.
EVIDENCE_BUDGET = 700_000  # characters of exchange text in the page
FINDING_ROWS_BUDGET = 500
EXCHANGE_OVERHEAD = 1_200  # headers, summary line and curl of one exchange, roughly

# Defence in depth: results are scrubbed when written, but a results file may come from
# an older tool or be edited by hand, so header values that carry secrets are masked again.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")


# -- the model -------------------------------------------------------------------


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


# Sections: the page is a list of these, each rendered by templates/sections/<kind>.html.j2.
# A new kind of section (fuzzing, say) is a new dataclass, a new partial, and one append in
# build_model; the navigation and the page frame pick it up from `kind`, `anchor` and `title`.


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


# -- helpers ---------------------------------------------------------------------


def clip(value: Any, limit: int) -> str:
    """A string of at most `limit` characters plus a marker saying how much was cut."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters clipped]"


def _json_text(value: Any, limit: int = VALUE_CLIP) -> str:
    return show(value, limit)


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(value: Any, limit: int = MESSAGE_CLIP) -> str:
    if value is None:
        return ""
    return clip(value, limit)


def safe_url(url: Any) -> str:
    """A base URL without user:password@ and without query values, which may carry keys."""
    text = str(url or "")
    try:
        parts = urlsplit(text)
    except ValueError:
        return clip(_USERINFO.sub(r"\1***@", text), NAME_CLIP * 2)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        query = "&".join(
            p.partition("=")[0] + ("=***" if "=" in p else "") for p in query.split("&")
        )
    return clip(urlunsplit((parts.scheme, netloc, parts.path, query, "")), NAME_CLIP * 2)


def _headers(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping):
        return ()
    out = []
    items = list(raw.items())
    for name, value in items[:MAX_HEADERS]:
        key = clip(str(name), NAME_CLIP)
        text = str(value)
        if key.lower() in SECRET_HEADERS and "<redacted>" not in text:
            scheme, sep, _ = text.strip().partition(" ")
            text = (
                f"{scheme} <redacted>"
                if sep and key.lower().endswith("authorization")
                else "<redacted>"
            )
        out.append((key, clip(text, HEADER_CLIP)))
    if len(items) > MAX_HEADERS:
        out.append(("…", f"{len(items) - MAX_HEADERS} more headers left out"))
    return tuple(out)


def _body(raw: Any, limit: int = BODY_CLIP) -> str | None:
    """A body excerpt, pretty-printed when it is JSON, clipped."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else _json_text(raw, limit * 2)
    if text[:1] in "{[":
        with contextlib.suppress(ValueError):  # an excerpt cut mid-way is shown as sent
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return clip(text, limit)


# -- vendor profiles -------------------------------------------------------------


@functools.cache
def _profile(vendor: str) -> Any:
    """The bundled profile for a vendor id, or None (a custom or unknown profile)."""
    from remixcheck.contract import profiles as vendors
    from remixcheck.errors import RemixcheckError

    # Only bundled names: a results file must never make the report read an arbitrary path.
    if not vendor or vendor not in vendors.available():
        return None
    try:
        return vendors.load(vendor)
    except RemixcheckError:
        return None


def _deviation_ref(vendor: str, deviation_id: str) -> DeviationRef:
    profile = _profile(vendor)
    dev = profile.deviation(deviation_id) if profile is not None else None
    if dev is None:
        return DeviationRef(clip(deviation_id, NAME_CLIP), "", "", documented=False)
    return DeviationRef(dev.id, dev.reason, dev.source, documented=True)


# -- building ----------------------------------------------------------------------


def _catalogue() -> list[Any]:
    from remixcheck.conformance.checks import catalogue

    return catalogue()


def _finding_view(raw: Mapping[str, Any], vendor: str) -> FindingView:
    keyword = _str(raw.get("keyword"), NAME_CLIP)
    expected, actual = raw.get("expected"), raw.get("actual")
    if keyword == "required" and isinstance(expected, str) and isinstance(actual, str):
        # "present" / "missing" read better as words than as JSON strings
        exp_text, act_text = clip(expected, VALUE_CLIP), clip(actual, VALUE_CLIP)
    else:
        exp_text, act_text = _json_text(expected), _json_text(actual)
    dev_id = raw.get("deviation")
    status = raw.get("status")
    return FindingView(
        verdict=_str(raw.get("verdict"), NAME_CLIP) or "violation",
        severity=_str(raw.get("severity"), NAME_CLIP),
        message=short_ids(_str(raw.get("message"))),
        where=_str(raw.get("where"), NAME_CLIP),
        location=_str(raw.get("location"), NAME_CLIP),
        pointer=_str(raw.get("pointer"), VALUE_CLIP),
        operation=_str(raw.get("operation"), NAME_CLIP),
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        keyword=keyword,
        expected=exp_text,
        actual=act_text,
        spec_location=_str(raw.get("spec_location"), VALUE_CLIP),
        origin=_str(raw.get("origin"), NAME_CLIP),
        origin_why=_str(raw.get("origin_why"), REASON_CLIP),
        deviation=_deviation_ref(vendor, str(dev_id)) if dev_id else None,
    )


def _group(findings: Iterable[FindingView]) -> tuple[FindingView, ...]:
    """Identical findings (the same problem in each of seven polls) once, with a count."""
    groups: dict[FindingView, int] = {}
    for f in findings:
        groups[f] = groups.get(f, 0) + 1
    out = [f if n == 1 else replace(f, count=n) for f, n in groups.items()]
    rank = {"violation": 0, "deviation": 1}
    return tuple(
        sorted(
            out,
            key=lambda f: (
                rank.get(f.verdict, 2),
                f.severity == "info",
                f.pointer.count("/"),
                f.pointer,
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class _Limits:
    """How much of each non-passing cell the page can hold, given how many there are."""

    head: int
    tail: int
    body_clip: int
    request_clip: int
    findings: int


def _limits(cells_with_evidence: int, cells_with_findings: int) -> _Limits:
    share = EVIDENCE_BUDGET // max(1, cells_with_evidence)
    kept = max(2, min(EXCHANGES_HEAD + EXCHANGES_TAIL, share // 2_500))
    head = max(1, kept * EXCHANGES_HEAD // (EXCHANGES_HEAD + EXCHANGES_TAIL))
    per_exchange = share // kept - EXCHANGE_OVERHEAD
    return _Limits(
        head=head,
        tail=kept - head,
        body_clip=max(300, min(BODY_CLIP, per_exchange * 2 // 3)),
        request_clip=max(200, min(REQUEST_CLIP, per_exchange // 3)),
        findings=max(5, min(MAX_FINDINGS, FINDING_ROWS_BUDGET // max(1, cells_with_findings))),
    )


def _exchange_view(raw: Mapping[str, Any], limits: _Limits) -> ExchangeView:
    req = _mapping(raw.get("request")) or {}
    resp = _mapping(raw.get("response"))
    elapsed = resp.get("elapsed_ms") if resp else None
    status = resp.get("status") if resp else None
    return ExchangeView(
        method=_str(req.get("method"), 16),
        url=clip(_USERINFO.sub(r"\1***@", str(req.get("url") or "")), VALUE_CLIP),
        request_headers=_headers(req.get("headers")),
        request_body=_body(req.get("body"), limits.request_clip),
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        response_headers=_headers(resp.get("headers")) if resp else (),
        response_body=_body(resp.get("body"), limits.body_clip) if resp else None,
        truncated=bool(resp.get("truncated")) if resp else False,
        elapsed_ms=float(elapsed)
        if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool)
        else None,
        curl=clip(_USERINFO.sub(r"\1***@", str(raw.get("curl") or "")), CURL_CLIP),
        note=_str(raw.get("note"), REASON_CLIP),
    )


def _cell(row: int, col: int, raw: Mapping[str, Any] | None, vendor: str, limits: _Limits) -> Cell:
    if raw is None:
        return Cell(
            row, col, NOT_RUN, "this check is not in this target's results file", (), 0, (), (), 0.0
        )
    raw_outcome = raw.get("outcome")
    reason = short_ids(_str(raw.get("reason"), REASON_CLIP))
    outcome = raw_outcome if isinstance(raw_outcome, str) and raw_outcome in OUTCOMES else "error"
    if outcome != raw_outcome:
        reason = clip(f"unknown outcome {show(raw_outcome)} in the results file", REASON_CLIP)
    raw_findings = [f for f in raw.get("findings") or () if isinstance(f, Mapping)]
    findings = _group(_finding_view(f, vendor) for f in raw_findings)
    dev_ids = [str(d) for d in raw.get("deviations") or ()]
    for f in findings:  # findings may name deviations the check-level list leaves out
        if f.deviation is not None and f.deviation.id not in dev_ids:
            dev_ids.append(f.deviation.id)
    # Evidence only where the page shows it: a passing cell has no drill-down.
    raw_evidence = (
        [e for e in raw.get("evidence") or () if isinstance(e, Mapping)]
        if outcome != "pass"
        else []
    )
    left_out = max(0, len(raw_evidence) - limits.head - limits.tail)
    if left_out:
        raw_evidence = raw_evidence[: limits.head] + raw_evidence[-limits.tail :]
    duration = raw.get("duration_ms")
    return Cell(
        row=row,
        col=col,
        outcome=outcome,
        reason=reason,
        findings=findings[: limits.findings],
        finding_total=len(raw_findings),
        exchanges=tuple(_exchange_view(e, limits) for e in raw_evidence),
        deviations=tuple(_deviation_ref(vendor, d) for d in dict.fromkeys(dev_ids)),
        duration_ms=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else 0.0,
        exchanges_left_out=left_out,
        exchanges_gap_at=limits.head if left_out else -1,
        findings_left_out=max(0, len(findings) - limits.findings),
        server_message=short_ids(_str(raw.get("server_message"), REASON_CLIP)),
        origin=origin_label(
            _str(raw.get("origin"), NAME_CLIP), _str(raw.get("origin_why"), REASON_CLIP)
        ),
        fact=_str(raw.get("fact"), REASON_CLIP) if outcome == "info" else "",
    )


def _when(value: Any) -> str:
    """An ISO timestamp as people read it ("2026-11-21 20:58:24 UTC"); anything else as given."""
    text = _str(value, NAME_CLIP)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.isoformat(sep=" ")


def _runs(results: Sequence[Mapping[str, Any]]) -> tuple[RunInfo, ...]:
    runs = []
    for i, data in enumerate(results, start=1):
        spec = _mapping(data.get("spec")) or {}
        targets = [t for t in data.get("targets") or () if isinstance(t, Mapping)]
        runs.append(
            RunInfo(
                index=i,
                started_at=_when(data.get("started_at")),
                finished_at=_when(data.get("finished_at")),
                tool_version=_str(data.get("tool_version"), NAME_CLIP),
                spec_version=_str(spec.get("version"), NAME_CLIP),
                spec_sha256=_str(spec.get("sha256"), 64),
                strict=bool(data.get("strict")),
                billable_sent=sum(_int(t.get("billable_sent")) for t in targets),
                target_names=tuple(_str(t.get("name"), NAME_CLIP) for t in targets),
            )
        )
    return tuple(runs)


def build_model(results: Sequence[Mapping[str, Any]]) -> ReportModel:
    """The report model of one or more results.json dicts, their targets side by side."""
    from remixcheck.report.dialect import dialect_section, upstream_notices

    if not results:
        raise ValueError("build_model needs at least one results dict")
    runs = _runs(results)
    raw_targets: list[tuple[int, Mapping[str, Any]]] = [
        (run.index, t)
        for run, data in zip(runs, results, strict=True)
        for t in data.get("targets") or ()
        if isinstance(t, Mapping)
    ]

    # Rows: the catalogue's checks in catalogue order, then any the tool does not know
    # (results from a newer version) in the order they first appear.
    catalogue = _catalogue()
    known = {c.id: c for c in catalogue}
    seen_ids: dict[str, Mapping[str, Any]] = {}
    for _, t in raw_targets:
        for c in t.get("checks") or ():
            if isinstance(c, Mapping) and isinstance(c.get("check"), str):
                seen_ids.setdefault(c["check"], c)
    order = [c.id for c in catalogue if c.id in seen_ids] + [i for i in seen_ids if i not in known]

    families: dict[str, str] = {}
    for cid in order:
        fam = (
            known[cid].family
            if cid in known
            else _str(seen_ids[cid].get("family"), NAME_CLIP) or "other"
        )
        families.setdefault(fam, f"f{len(families)}")

    # Columns.
    name_counts: dict[str, int] = {}
    for _, t in raw_targets:
        n = _str(t.get("name"), NAME_CLIP)
        name_counts[n] = name_counts.get(n, 0) + 1
    per_target: list[dict[str, Mapping[str, Any]]] = []
    for _, t in raw_targets:
        by_id: dict[str, Mapping[str, Any]] = {}
        for c in t.get("checks") or ():
            if isinstance(c, Mapping) and isinstance(c.get("check"), str):
                by_id.setdefault(c["check"], c)
        per_target.append(by_id)

    with_evidence = with_findings = 0
    for by_id in per_target:
        for c in by_id.values():
            if c.get("outcome") != "pass":
                with_evidence += bool(c.get("evidence"))
                with_findings += bool(c.get("findings"))
    limits = _limits(with_evidence, with_findings)

    rows: list[CheckRow] = []
    cells_by_col: list[list[Cell]] = [[] for _ in raw_targets]
    for r, cid in enumerate(order):
        cells = []
        for col, (_, t) in enumerate(raw_targets):
            cell = _cell(r, col, per_target[col].get(cid), _str(t.get("vendor"), NAME_CLIP), limits)
            cells.append(cell)
            cells_by_col[col].append(cell)
        check = known.get(cid)
        raw = seen_ids[cid]
        family = check.family if check else _str(raw.get("family"), NAME_CLIP) or "other"
        rows.append(
            CheckRow(
                index=r,
                id=clip(cid, NAME_CLIP),
                family=family,
                family_key=families[family],
                title=check.title if check else _str(raw.get("title"), VALUE_CLIP),
                description=check.description if check else "",
                billing=check.billing if check else ("billable" if raw.get("billable") else "free"),
                severity=str(check.severity) if check else "",
                in_catalogue=check is not None,
                cells=tuple(cells),
            )
        )

    targets: list[Target] = []
    for col, (run, t) in enumerate(raw_targets):
        counts = {o: 0 for o in (*OUTCOMES, NOT_RUN)}
        for cell in cells_by_col[col]:
            counts[cell.outcome] += 1
        applicable = len(cells_by_col[col]) - sum(counts[o] for o in NOT_JUDGED)
        name = _str(t.get("name"), NAME_CLIP) or f"target {col + 1}"
        vendor = _str(t.get("vendor"), NAME_CLIP)
        profile = _profile(vendor)
        max_billable = t.get("max_billable")
        duration = t.get("duration_ms")
        source_id = t.get("source_video_id")
        api_key_env = t.get("api_key_env")
        targets.append(
            Target(
                col=col,
                key=f"t{col}",
                name=name,
                display_name=name if name_counts.get(name, 0) < 2 else f"{name} (run {run})",
                vendor=vendor,
                vendor_name=profile.name if profile is not None else vendor,
                base_url=safe_url(t.get("base_url")),
                emulated=bool(t.get("emulated")),
                api_key_env=clip(api_key_env, NAME_CLIP)
                if isinstance(api_key_env, str) and api_key_env
                else None,
                source_video_id=short_id(clip(source_id, VALUE_CLIP))
                if isinstance(source_id, str) and source_id
                else None,
                requests_sent=_int(t.get("requests_sent")),
                billable_sent=_int(t.get("billable_sent")),
                max_billable=_int(max_billable)
                if isinstance(max_billable, int) and not isinstance(max_billable, bool)
                else None,
                duration_ms=float(duration)
                if isinstance(duration, (int, float)) and not isinstance(duration, bool)
                else 0.0,
                run=run,
                counts=counts,
                score=Score(counts["pass"], counts["deviation"], applicable),
            )
        )

    warnings = []
    shas = {r.spec_sha256 for r in runs}
    if len(shas) > 1:
        warnings.append(
            "These results were produced against different versions of the contract: "
            + ", ".join(f"run {r.index}: spec {r.spec_version} ({r.spec_short})" for r in runs)
            + ". Compare the columns with care."
        )
    if any(r.strict for r in runs) and not all(r.strict for r in runs):
        warnings.append("Some results files were produced with --strict and some without.")

    totals = {o: sum(t.counts[o] for t in targets) for o in (*OUTCOMES, NOT_RUN)}
    outcomes = tuple(o for o in (*OUTCOMES, NOT_RUN) if totals[o] or o in OUTCOMES)
    fam_list = tuple(
        Family(key, name, sum(1 for r in rows if r.family_key == key))
        for name, key in families.items()
    )
    rows_t = tuple(rows)
    field_section = _field_section(raw_targets, runs)
    sections: list[Section] = [
        MatrixSection("matrix", "matrix", "Compatibility matrix", rows=rows_t),
        dialect_section(targets, rows_t),
        field_section,
        DrilldownSection(
            "drilldown",
            "drilldown",
            "Details of every non-passing cell",
            rows=tuple(r for r in rows_t if r.detail_cells),
        ),
        _profiles_section(targets, rows_t),
        CatalogueSection(
            "catalogue",
            "catalogue",
            "Check catalogue",
            entries=tuple(
                CatalogueEntry(
                    r.index,
                    r.id,
                    r.family,
                    r.title,
                    r.description,
                    r.billing,
                    r.severity,
                    r.in_catalogue,
                )
                for r in rows_t
            ),
        ),
    ]
    return ReportModel(
        notices=upstream_notices(),
        title="Remix API compatibility report",
        runs=runs,
        targets=tuple(targets),
        families=fam_list,
        rows=rows_t,
        sections=tuple(sections),
        warnings=tuple(warnings),
        outcomes=outcomes,
        totals=totals,
        billable_sent=sum(t.billable_sent for t in targets),
        causes=tuple(
            (target.display_name, tuple(found))
            for target, (run, t) in zip(targets, raw_targets, strict=True)
            if (
                found := group(
                    [c for c in t.get("checks") or () if isinstance(c, Mapping)],
                    strict=bool(results[run - 1].get("strict")),
                )
            )
        ),
    )


def _profiles_section(targets: Sequence[Target], rows: Sequence[CheckRow]) -> ProfilesSection:
    used: dict[str, int] = {}
    for row in rows:
        for cell in row.cells:
            for d in cell.deviations:
                used[d.id] = used.get(d.id, 0) + 1
    views = []
    for vendor in dict.fromkeys(t.vendor for t in targets):
        profile = _profile(vendor)
        if profile is None:
            views.append(ProfileView(vendor, vendor, "", (), (), found=False))
            continue
        views.append(
            ProfileView(
                vendor=profile.id,
                name=profile.name,
                summary=profile.summary,
                sources=tuple(profile.sources),
                deviations=tuple(
                    ProfileDeviation(d.id, d.reason, d.source, used.get(d.id, 0))
                    for d in profile.deviations
                ),
                found=True,
                upstream=profile.upstream_notice,
            )
        )
    return ProfilesSection(
        "profiles", "profiles", "Vendor profiles: documented deviations", profiles=tuple(views)
    )


# -- the field matrix --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRule:
    """What the contract says one Video field may hold."""

    name: str
    required: bool
    types: frozenset[str] | None  # None: any type
    enum: tuple[Any, ...] | None  # None: open (no enum, or an open anyOf branch)
    validator: Any  # compiled JSON Schema validator of the field's full schema, or None


def _deref(contract: Any, node: Any) -> Any:
    seen: set[str] = set()
    while (
        isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen
    ):
        seen.add(node["$ref"])
        node = contract.resolve(node["$ref"])
    return node


def _types_and_enum(
    contract: Any, schema: Any
) -> tuple[frozenset[str] | None, tuple[Any, ...] | None]:
    node = _deref(contract, schema)
    if not isinstance(node, Mapping):
        return None, None
    branches = node.get("anyOf") or node.get("oneOf")
    if isinstance(branches, list):
        types: set[str] = set()
        enums: list[Any] = []
        open_ = False
        for b in branches:
            t, e = _types_and_enum(contract, b)
            if t is None:
                return None, None
            types |= t
            if e is None and t != {"null"}:
                open_ = True
            elif e is not None:
                enums.extend(e)
        return frozenset(types), (None if open_ or not enums else tuple(dict.fromkeys(enums)))
    raw_type = node.get("type")
    type_set = frozenset([raw_type] if isinstance(raw_type, str) else raw_type or ())
    enum: tuple[Any, ...] | None = None
    if "const" in node:
        enum = (node["const"],)
        type_set = type_set or frozenset({_json_type(node["const"])})
    elif isinstance(node.get("enum"), list):
        enum = tuple(node["enum"])
    return (type_set or None), enum


_SIMPLE_KEYWORDS = frozenset(
    {"type", "enum", "const", "format", "description", "title", "anyOf", "$ref"}
)


def _simple(contract: Any, schema: Any) -> bool:
    """True when type and enum say everything the schema says (annotations aside)."""
    node = _deref(contract, schema)
    if not isinstance(node, Mapping):
        return False
    if any(k not in _SIMPLE_KEYWORDS and not k.startswith("x-") for k in node):
        return False
    return all(_simple(contract, b) for b in node.get("anyOf", ()))


@functools.cache
def _field_rules() -> tuple[str, tuple[FieldRule, ...]]:
    """The VideoResource fields of the bundled contract, compiled once per process."""
    import jsonschema

    from remixcheck.contract.spec import Contract

    contract = Contract.load()
    base = "#/components/schemas/VideoResource"
    video = contract.resolve(base)
    required = set(video.get("required", ()))
    rules = []
    for name, prop in video.get("properties", {}).items():
        types, enum = _types_and_enum(contract, prop)
        root = contract.schema_root(
            f"{base}/properties/{name.replace('~', '~0').replace('/', '~1')}"
        )
        cls = jsonschema.validators.validator_for(root)
        # Type and enum decide scalar fields completely; the validator (slow, and called for
        # every field of every poll) runs only where the schema says more, as for `error`.
        validator = None if _simple(contract, prop) else cls(root)
        rules.append(FieldRule(name, name in required, types, enum, validator))
    return contract.sha256, tuple(rules)


def _json_type(value: Any) -> str:
    from remixcheck.contract.profiles import json_type

    return json_type(value)


def _type_ok(value: Any, types: frozenset[str]) -> bool:
    t = _json_type(value)
    if t in types:
        return True
    # JSON Schema semantics, as the validators apply them: 1.0 is an integer, 1 is a number.
    if t == "number" and "integer" in types and float(value).is_integer():
        return True
    return t == "integer" and "number" in types


def classify(rule: FieldRule, body: Mapping[str, Any]) -> str:
    """How one Video body holds one canonical field: present, null, omitted, wrong type, ..."""
    if rule.name not in body:
        return "omitted"
    value = body[rule.name]
    if value is None:
        return "null" if rule.types is None or "null" in rule.types else "wrong-type"
    if rule.types is not None and not _type_ok(value, rule.types):
        return "wrong-type"
    if rule.enum is not None and value not in rule.enum:
        return "out-of-enum"
    if rule.validator is not None and not rule.validator.is_valid(value):
        return "invalid"  # right type, not an enum problem: e.g. an error object without code
    return "present"


def _expects(rule: FieldRule) -> str:
    types = sorted(rule.types or {"any"}, key=lambda t: (t == "null", t))
    text = " or ".join(types)
    if rule.enum is not None:
        values = ", ".join(str(v) for v in rule.enum)
        text += f" ∈ {{{values}}}" if len(rule.enum) > 1 else f" = {values}"
    return text


def _example(value: Any) -> str:
    """A short sample of a value: scalars as JSON, containers by their shape."""
    if isinstance(value, Mapping):
        return f"object ({len(value)} key{'s' if len(value) != 1 else ''})"
    if isinstance(value, list):
        return f"array ({len(value)} item{'s' if len(value) != 1 else ''})"
    text = _json_text(value, EXAMPLE_CLIP * 2)
    return text if len(text) <= EXAMPLE_CLIP else text[: EXAMPLE_CLIP - 1] + "…"


def _field_section(
    raw_targets: Sequence[tuple[int, Mapping[str, Any]]], runs: Sequence[RunInfo]
) -> FieldSection:
    sha, rules = _field_rules()
    canonical = {r.name for r in rules}
    bodies_per_target: list[list[Mapping[str, Any]]] = []
    extras: dict[str, None] = {}
    for _, t in raw_targets:
        bodies = []
        for obs in t.get("observed_videos") or ():
            body = obs.get("body") if isinstance(obs, Mapping) else None
            if isinstance(body, Mapping):
                bodies.append(body)
                for key in body:
                    if key not in canonical:
                        extras.setdefault(str(key), None)
        bodies_per_target.append(bodies)
    extra_names = list(extras)
    dropped = max(0, len(extra_names) - MAX_EXTRA_FIELDS)
    extra_names = extra_names[:MAX_EXTRA_FIELDS]

    rows: list[FieldRow] = []
    per_target_lines: list[dict[str, list[str]]] = [{} for _ in raw_targets]
    for rule in rules:
        cells = []
        for col, bodies in enumerate(bodies_per_target):
            counts: dict[str, int] = {}
            examples: dict[str, None] = {}
            for body in bodies:
                kind = classify(rule, body)
                counts[kind] = counts.get(kind, 0) + 1
                if (
                    kind in ("wrong-type", "out-of-enum", "invalid")
                    and len(examples) < MAX_EXAMPLES
                ):
                    examples.setdefault(_example(body[rule.name]), None)
            ordered = tuple((k, counts[k]) for k in FIELD_KINDS if counts.get(k))
            cells.append(FieldCell(col, len(bodies), ordered, tuple(examples)))
            for k in ("omitted", "wrong-type", "out-of-enum", "invalid"):
                if counts.get(k):
                    per_target_lines[col].setdefault(k, []).append(
                        f"{rule.name} ({counts[k]}/{len(bodies)})"
                    )
        rows.append(FieldRow(rule.name, True, rule.required, _expects(rule), tuple(cells)))
    for name in extra_names:
        cells = []
        for col, bodies in enumerate(bodies_per_target):
            n = sum(1 for b in bodies if name in b)
            counts_t = tuple((k, c) for k, c in (("extra", n), ("absent", len(bodies) - n)) if c)
            examples_t = tuple(dict.fromkeys(_example(b[name]) for b in bodies if name in b))[
                :MAX_EXAMPLES
            ]
            cells.append(FieldCell(col, len(bodies), counts_t, examples_t))
            if n:
                per_target_lines[col].setdefault("extra", []).append(clip(name, NAME_CLIP))
        rows.append(
            FieldRow(clip(name, NAME_CLIP), False, False, "not in the contract", tuple(cells))
        )

    summaries = []
    for col, lines in enumerate(per_target_lines):
        labelled = {
            "omitted": "omits",
            "wrong-type": "wrong type",
            "out-of-enum": "out of enum",
            "invalid": "invalid value",
            "extra": "adds",
        }
        summaries.append(
            FieldSummary(
                col,
                len(bodies_per_target[col]),
                tuple(
                    (
                        f"{labelled[k]} {len(lines[k])} field{'s' if len(lines[k]) != 1 else ''}",
                        tuple(lines[k]),
                    )
                    for k in labelled
                    if k in lines
                ),
            )
        )
    note = ""
    other = sorted({r.spec_sha256 for r in runs if r.spec_sha256 and r.spec_sha256 != sha})
    if other:
        note = (
            f"The field matrix classifies values with this installation's contract ({sha[:12]}); "
            f"the results were produced with {', '.join(s[:12] for s in other)}."
        )
    return FieldSection(
        "fields",
        "fields",
        "Video object fields",
        rows=tuple(rows),
        summaries=tuple(summaries),
        extra_dropped=dropped,
        spec_note=note,
    )

"""One cell of the matrix (a check on a target): its findings grouped by cause, its exchanges within
the evidence budget, and the runs and profiles it came from."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from remixcheck.contract.origins import label as origin_label
from remixcheck.contract.quoting import show
from remixcheck.report.reading import (
    as_body,
    as_int,
    as_mapping,
    as_str,
    clip,
    json_text,
    safe_headers,
)
from remixcheck.report.views import Cell, DeviationRef, ExchangeView, FindingView, RunInfo
from remixcheck.report.vocabulary import (
    BODY_CLIP,
    CURL_CLIP,
    EVIDENCE_BUDGET,
    EXCHANGE_OVERHEAD,
    EXCHANGES_HEAD,
    EXCHANGES_TAIL,
    FINDING_ROWS_BUDGET,
    MAX_FINDINGS,
    NAME_CLIP,
    NOT_RUN,
    OUTCOMES,
    REASON_CLIP,
    REQUEST_CLIP,
    USERINFO,
    VALUE_CLIP,
)
from remixcheck.results.display import short_ids


@functools.cache
def profile_view(vendor: str) -> Any:
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
    profile = profile_view(vendor)
    dev = profile.deviation(deviation_id) if profile is not None else None
    if dev is None:
        return DeviationRef(clip(deviation_id, NAME_CLIP), "", "", documented=False)
    return DeviationRef(dev.id, dev.reason, dev.source, documented=True)


def load_catalogue() -> list[Any]:
    from remixcheck.conformance.checks import catalogue

    return catalogue()


def _finding_view(raw: Mapping[str, Any], vendor: str) -> FindingView:
    keyword = as_str(raw.get("keyword"), NAME_CLIP)
    expected, actual = raw.get("expected"), raw.get("actual")
    if keyword == "required" and isinstance(expected, str) and isinstance(actual, str):
        # "present" / "missing" read better as words than as JSON strings
        exp_text, act_text = clip(expected, VALUE_CLIP), clip(actual, VALUE_CLIP)
    else:
        exp_text, act_text = json_text(expected), json_text(actual)
    dev_id = raw.get("deviation")
    status = raw.get("status")
    return FindingView(
        verdict=as_str(raw.get("verdict"), NAME_CLIP) or "violation",
        severity=as_str(raw.get("severity"), NAME_CLIP),
        message=short_ids(as_str(raw.get("message"))),
        where=as_str(raw.get("where"), NAME_CLIP),
        location=as_str(raw.get("location"), NAME_CLIP),
        pointer=as_str(raw.get("pointer"), VALUE_CLIP),
        operation=as_str(raw.get("operation"), NAME_CLIP),
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        keyword=keyword,
        expected=exp_text,
        actual=act_text,
        spec_location=as_str(raw.get("spec_location"), VALUE_CLIP),
        origin=as_str(raw.get("origin"), NAME_CLIP),
        origin_why=as_str(raw.get("origin_why"), REASON_CLIP),
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


def evidence_limits(cells_with_evidence: int, cells_with_findings: int) -> _Limits:
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
    req = as_mapping(raw.get("request")) or {}
    resp = as_mapping(raw.get("response"))
    elapsed = resp.get("elapsed_ms") if resp else None
    status = resp.get("status") if resp else None
    return ExchangeView(
        method=as_str(req.get("method"), 16),
        url=clip(USERINFO.sub(r"\1***@", str(req.get("url") or "")), VALUE_CLIP),
        request_headers=safe_headers(req.get("headers")),
        request_body=as_body(req.get("body"), limits.request_clip),
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        response_headers=safe_headers(resp.get("headers")) if resp else (),
        response_body=as_body(resp.get("body"), limits.body_clip) if resp else None,
        truncated=bool(resp.get("truncated")) if resp else False,
        elapsed_ms=float(elapsed)
        if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool)
        else None,
        curl=clip(USERINFO.sub(r"\1***@", str(raw.get("curl") or "")), CURL_CLIP),
        note=as_str(raw.get("note"), REASON_CLIP),
    )


def build_cell(
    row: int, col: int, raw: Mapping[str, Any] | None, vendor: str, limits: _Limits
) -> Cell:
    if raw is None:
        return Cell(
            row, col, NOT_RUN, "this check is not in this target's results file", (), 0, (), (), 0.0
        )
    raw_outcome = raw.get("outcome")
    reason = short_ids(as_str(raw.get("reason"), REASON_CLIP))
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
        server_message=short_ids(as_str(raw.get("server_message"), REASON_CLIP)),
        origin=origin_label(
            as_str(raw.get("origin"), NAME_CLIP), as_str(raw.get("origin_why"), REASON_CLIP)
        ),
        fact=as_str(raw.get("fact"), REASON_CLIP) if outcome == "info" else "",
    )


def _when(value: Any) -> str:
    """An ISO timestamp as people read it ("2026-11-21 20:58:24 UTC"); anything else as given."""
    text = as_str(value, NAME_CLIP)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.isoformat(sep=" ")


def run_infos(results: Sequence[Mapping[str, Any]]) -> tuple[RunInfo, ...]:
    runs = []
    for i, data in enumerate(results, start=1):
        spec = as_mapping(data.get("spec")) or {}
        targets = [t for t in data.get("targets") or () if isinstance(t, Mapping)]
        runs.append(
            RunInfo(
                index=i,
                started_at=_when(data.get("started_at")),
                finished_at=_when(data.get("finished_at")),
                tool_version=as_str(data.get("tool_version"), NAME_CLIP),
                spec_version=as_str(spec.get("version"), NAME_CLIP),
                spec_sha256=as_str(spec.get("sha256"), 64),
                strict=bool(data.get("strict")),
                billable_sent=sum(as_int(t.get("billable_sent")) for t in targets),
                target_names=tuple(as_str(t.get("name"), NAME_CLIP) for t in targets),
            )
        )
    return tuple(runs)

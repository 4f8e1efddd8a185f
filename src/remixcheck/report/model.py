"""The compatibility report as plain data: results.json dicts in, targets side by side out.

Nothing here knows about HTML. Every string that came from a server (or from a results
file someone could have edited) is kept as plain text; escaping is the template's job,
with autoescape on. Long values are clipped here so the rendered page stays small."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from remixcheck.report.causes import group
from remixcheck.report.cells import (
    build_cell,
    evidence_limits,
    load_catalogue,
    profile_view,
    run_infos,
)
from remixcheck.report.clients import clients_sections
from remixcheck.report.dialect import dialect_section, upstream_notices
from remixcheck.report.fields import field_section
from remixcheck.report.reading import as_int, as_str, clip, safe_url
from remixcheck.report.views import (
    CatalogueEntry,
    CatalogueSection,
    Cell,
    CheckRow,
    DrilldownSection,
    Family,
    MatrixSection,
    ProfileDeviation,
    ProfilesSection,
    ProfileView,
    ReportModel,
    RunInfo,
    Score,
    Section,
    Target,
)
from remixcheck.report.vocabulary import NAME_CLIP, NOT_JUDGED, NOT_RUN, OUTCOMES, VALUE_CLIP
from remixcheck.results.display import short_id


def build_model(results: Sequence[Mapping[str, Any]]) -> ReportModel:
    """The report model of one or more results.json dicts, their targets side by side."""

    if not results:
        raise ValueError("build_model needs at least one results dict")
    runs = run_infos(results)
    raw_targets: list[tuple[int, Mapping[str, Any]]] = [
        (run.index, t)
        for run, data in zip(runs, results, strict=True)
        for t in data.get("targets") or ()
        if isinstance(t, Mapping)
    ]
    per_target = [_checks_by_id(t) for _, t in raw_targets]
    rows, cells_by_col, families = _rows(raw_targets, per_target)

    name_counts: dict[str, int] = {}
    for _, t in raw_targets:
        n = as_str(t.get("name"), NAME_CLIP)
        name_counts[n] = name_counts.get(n, 0) + 1
    targets = [
        _target(col, run, t, cells_by_col[col], name_counts)
        for col, (run, t) in enumerate(raw_targets)
    ]

    totals = {o: sum(t.counts[o] for t in targets) for o in (*OUTCOMES, NOT_RUN)}
    outcomes = tuple(o for o in (*OUTCOMES, NOT_RUN) if totals[o] or o in OUTCOMES)
    fam_list = tuple(
        Family(key, name, sum(1 for r in rows if r.family_key == key))
        for name, key in families.items()
    )
    return ReportModel(
        notices=upstream_notices(),
        title="Remix API compatibility report",
        runs=runs,
        targets=tuple(targets),
        families=fam_list,
        rows=rows,
        sections=_sections(
            targets, rows, field_section(raw_targets, runs), clients_sections(raw_targets)
        ),
        warnings=_warnings(runs),
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


def _checks_by_id(target: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A target's check dicts by id (the first of a repeated id wins)."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for c in target.get("checks") or ():
        if isinstance(c, Mapping) and isinstance(c.get("check"), str):
            by_id.setdefault(c["check"], c)
    return by_id


def _rows(
    raw_targets: Sequence[tuple[int, Mapping[str, Any]]],
    per_target: Sequence[Mapping[str, Mapping[str, Any]]],
) -> tuple[tuple[CheckRow, ...], list[list[Cell]], dict[str, str]]:
    """The matrix rows, the same cells by column, and the family keys in order of appearance."""
    # Rows: the catalogue's checks in catalogue order, then any the tool does not know
    # (results from a newer version) in the order they first appear.
    catalogue = load_catalogue()
    known = {c.id: c for c in catalogue}
    seen_ids: dict[str, Mapping[str, Any]] = {}
    for by_id in per_target:
        for cid, c in by_id.items():
            seen_ids.setdefault(cid, c)
    order = [c.id for c in catalogue if c.id in seen_ids] + [i for i in seen_ids if i not in known]

    families: dict[str, str] = {}
    for cid in order:
        fam = (
            known[cid].family
            if cid in known
            else as_str(seen_ids[cid].get("family"), NAME_CLIP) or "other"
        )
        families.setdefault(fam, f"f{len(families)}")

    with_evidence = with_findings = 0
    for by_id in per_target:
        for c in by_id.values():
            if c.get("outcome") != "pass":
                with_evidence += bool(c.get("evidence"))
                with_findings += bool(c.get("findings"))
    limits = evidence_limits(with_evidence, with_findings)

    rows: list[CheckRow] = []
    cells_by_col: list[list[Cell]] = [[] for _ in raw_targets]
    for r, cid in enumerate(order):
        cells = []
        for col, (_, t) in enumerate(raw_targets):
            cell = build_cell(
                r, col, per_target[col].get(cid), as_str(t.get("vendor"), NAME_CLIP), limits
            )
            cells.append(cell)
            cells_by_col[col].append(cell)
        check = known.get(cid)
        raw = seen_ids[cid]
        family = check.family if check else as_str(raw.get("family"), NAME_CLIP) or "other"
        rows.append(
            CheckRow(
                index=r,
                id=clip(cid, NAME_CLIP),
                family=family,
                family_key=families[family],
                title=check.title if check else as_str(raw.get("title"), VALUE_CLIP),
                description=check.description if check else "",
                billing=check.billing if check else ("billable" if raw.get("billable") else "free"),
                severity=str(check.severity) if check else "",
                in_catalogue=check is not None,
                cells=tuple(cells),
            )
        )
    return tuple(rows), cells_by_col, families


def _target(
    col: int,
    run: int,
    t: Mapping[str, Any],
    cells: Sequence[Cell],
    name_counts: Mapping[str, int],
) -> Target:
    """One column: a target of a results file, its counts and score over its cells."""
    counts = {o: 0 for o in (*OUTCOMES, NOT_RUN)}
    for cell in cells:
        counts[cell.outcome] += 1
    applicable = len(cells) - sum(counts[o] for o in NOT_JUDGED)
    name = as_str(t.get("name"), NAME_CLIP) or f"target {col + 1}"
    vendor = as_str(t.get("vendor"), NAME_CLIP)
    profile = profile_view(vendor)
    max_billable = t.get("max_billable")
    duration = t.get("duration_ms")
    source_id = t.get("source_video_id")
    api_key_env = t.get("api_key_env")
    return Target(
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
        requests_sent=as_int(t.get("requests_sent")),
        billable_sent=as_int(t.get("billable_sent")),
        max_billable=as_int(max_billable)
        if isinstance(max_billable, int) and not isinstance(max_billable, bool)
        else None,
        duration_ms=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else 0.0,
        run=run,
        counts=counts,
        score=Score(counts["pass"], counts["deviation"], applicable),
    )


def _warnings(runs: Sequence[RunInfo]) -> tuple[str, ...]:
    """What a reader must know before comparing columns: different contracts, mixed --strict."""
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
    return tuple(warnings)


def _sections(
    targets: Sequence[Target],
    rows: tuple[CheckRow, ...],
    fields: Section,
    clients: Sequence[Section],
) -> tuple[Section, ...]:
    """The page's sections, in page order."""
    return (
        MatrixSection("matrix", "matrix", "Compatibility matrix", rows=rows),
        dialect_section(targets, rows),
        *clients,
        fields,
        DrilldownSection(
            "drilldown",
            "drilldown",
            "Details of every non-passing cell",
            rows=tuple(r for r in rows if r.detail_cells),
        ),
        _profiles_section(targets, rows),
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
                for r in rows
            ),
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
        profile = profile_view(vendor)
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

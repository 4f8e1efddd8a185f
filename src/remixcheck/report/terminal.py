"""What `run` and `fuzz` print after their table: root causes, the server's words, deviations.

Takes a rich Console and results dicts; the CLI decides where the console writes
(stdout, or stderr under `--format json`). Long ids are shortened here; results.json and
the evidence keep them whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape

from remixcheck.contract.origins import label
from remixcheck.report.causes import group
from remixcheck.results.display import short_ids

DEVIATION_MEANS = (
    "deviation: where the target differs from the canonical contract in a way its vendor's "
    "profile documents (with a source); it does not fail the run unless --strict."
)
CHECKS_SHOWN = 6


def print_failures(console: Any, target: Mapping[str, Any], *, strict: bool = False) -> None:
    """A target's failing checks grouped by root cause, then the checks that ended in error."""
    checks = [c for c in target.get("checks") or () if isinstance(c, Mapping)]
    by_id = {str(c.get("check")): c for c in checks}
    causes = group(checks, strict=strict)
    if causes:
        failing = {c for cause in causes for c in cause.checks}
        console.print(
            f"  [bold red]{len(causes)} root cause(s)[/] of {len(failing)} failing check(s):"
        )
    for i, cause in enumerate(causes, start=1):
        shown = ", ".join(cause.checks[:CHECKS_SHOWN])
        more = (
            f" and {len(cause.checks) - CHECKS_SHOWN} more"
            if len(cause.checks) > CHECKS_SHOWN
            else ""
        )
        origin = f" [{cause.origin}]" if cause.origin else ""
        outcome = str(by_id.get(cause.checks[0], {}).get("outcome", "violation"))
        if len(cause.checks) == 1:
            console.print(
                f"  {i}. {outcome} {cause.checks[0]}: {cause.label}{origin}", markup=False
            )
        else:
            console.print(f"  {i}. {cause.label}{origin}", markup=False)
            console.print(
                f"     {outcome} in {len(cause.checks)} checks: {shown}{more}", markup=False
            )
        if cause.example and cause.example != cause.label:
            console.print(f"     {cause.example}", markup=False)
        if cause.server_message:
            console.print(f"     server said: {cause.server_message}", markup=False)
        first = by_id.get(cause.checks[0]) or {}
        evidence = first.get("evidence") or []
        if evidence and isinstance(evidence[-1], Mapping):
            console.print(f"     reproduce: {evidence[-1].get('curl', '')}", markup=False)
    for c in checks:
        if c.get("outcome") not in ("error", "precondition"):
            continue
        # precondition: the server's state let the check judge nothing (not a verdict)
        console.print(
            f"  [magenta]{c.get('outcome')}[/] {c.get('check')}: "
            + escape(short_ids(str(c.get("reason") or ""))),
            highlight=False,
        )
        if c.get("server_message"):
            console.print(f"     server said: {short_ids(str(c['server_message']))}", markup=False)
    for c in checks:
        if c.get("outcome") == "info" and c.get("fact"):
            origin = label(c.get("origin"), c.get("origin_why"))
            console.print(
                f"  [cyan]dialect[/] {c.get('check')}: "
                + escape(f"{c['fact']}" + (f" [{origin}]" if origin else "")),
                highlight=False,
            )


def deviation_counts(targets: Sequence[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """Per target: each documented deviation and how many checks it explained."""
    out: dict[str, Counter[str]] = {}
    for t in targets:
        counted: Counter[str] = Counter()
        for c in t.get("checks") or ():
            if isinstance(c, Mapping):
                counted.update(str(d) for d in c.get("deviations") or ())
        if counted:
            out[str(t.get("name"))] = counted
    return out


def print_deviations(console: Any, targets: Sequence[Mapping[str, Any]]) -> None:
    """Say once what a deviation is, then list the deviations counted, per target."""
    counts = deviation_counts(targets)
    if not counts:
        return
    console.print(f"[yellow]{DEVIATION_MEANS}[/]", highlight=False)
    for name, counted in counts.items():
        listed = ", ".join(
            f"{d} ({n} check{'s' if n != 1 else ''})" for d, n in counted.most_common()
        )
        console.print(f"  {name}: {listed}", markup=False)

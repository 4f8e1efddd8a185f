"""Report parts about dialects rather than verdicts: the facts each target was seen to hold,
and what is known of the upstream API itself (OpenAI deprecated it, with a shutdown date).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from remixcheck.report.views import CheckRow, Section, Target


@dataclass(frozen=True, slots=True)
class DialectFact:
    check: str
    anchor: str  # the drill-down cell that shows the exchange behind the fact
    fact: str
    origin: str


@dataclass(frozen=True, slots=True)
class TargetFacts:
    target: str
    vendor: str
    facts: tuple[DialectFact, ...]


@dataclass(frozen=True, slots=True)
class DialectSection(Section):
    """Info outcomes: what a server does where no source says what is right. Never verdicts."""

    targets: tuple[TargetFacts, ...] = ()


def dialect_section(targets: Sequence[Target], rows: Sequence[CheckRow]) -> DialectSection:
    per_target = []
    for t in targets:
        facts = tuple(
            DialectFact(row.id, cell.anchor, cell.fact, cell.origin)
            for row in rows
            for cell in row.cells
            if cell.col == t.col and cell.outcome == "info" and cell.fact
        )
        per_target.append(TargetFacts(t.display_name, t.vendor_name, facts))
    return DialectSection(
        "dialect", "dialect", "Dialect facts", targets=tuple(p for p in per_target if p.facts)
    )


def upstream_notices() -> tuple[str, ...]:
    """The bundled contract's note on the upstream API (deprecation and announced shutdown)."""
    from remixcheck.contract.spec import Contract

    note = Contract.load().deprecation
    if not note:
        return ()
    return (
        f"Upstream status: OpenAI marked every video operation deprecated on "
        f"{note.get('deprecated')} ({note.get('deprecated_source')}) and announced that its "
        f"hosted API shuts down on {note.get('shutdown')} ({note.get('shutdown_source')}). "
        f"{note.get('note', '')}",
    )

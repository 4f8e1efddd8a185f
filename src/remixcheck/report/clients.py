"""The report's client-impact section: stacks x targets, from each target's `client_impact`.

Plain data like the rest of the model; every string from a results file is clipped here and
escaped by the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remixcheck.report.reading import clip
from remixcheck.report.views import Section
from remixcheck.report.vocabulary import MESSAGE_CLIP, NAME_CLIP, VALUE_CLIP

NOT_ASSESSED = "not-assessed"
STATUSES = ("works", "breaks", "skipped", "error", NOT_ASSESSED)
STATUS_LABELS = {
    "works": "works",
    "breaks": "breaks",
    "skipped": "skipped",
    "error": "error",
    NOT_ASSESSED: "not assessed",
}
# Shapes as well as colours, as in the check matrix.
STATUS_SYMBOLS = {"works": "✓", "breaks": "✗", "skipped": "\u2013", "error": "!", NOT_ASSESSED: "·"}
KIND_LABELS = {
    "missing": "missing",
    "null": "null",
    "type": "wrong type",
    "enum": "outside enum",
    "invalid": "invalid",
}
MAX_FIELDS = 40  # per kind and cell: a hostile results file could list thousands


@dataclass(frozen=True, slots=True)
class FirstBreak:
    operation: str
    field: str
    pointer: str
    kind: str
    present: bool
    value: str
    error: str


@dataclass(frozen=True, slots=True)
class ClientCell:
    col: int
    status: str
    bodies: int
    failing: int
    library: str
    reason: str
    first: FirstBreak | None
    fields: tuple[tuple[str, tuple[str, ...]], ...]  # (kind label, field names)
    notes: tuple[str, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def symbol(self) -> str:
        return STATUS_SYMBOLS[self.status]


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: str
    name: str
    rules: bool  # True: decoding rules applied by remixcheck, not a client run
    description: str
    cells: tuple[ClientCell, ...]


@dataclass(frozen=True, slots=True)
class Headline:
    col: int
    text: str
    breaks: bool | None


@dataclass(frozen=True, slots=True)
class ClientsSection(Section):
    headlines: tuple[Headline, ...] = ()
    rows: tuple[ClientRow, ...] = ()


def _text(value: Any, limit: int) -> str:
    return clip(value, limit) if isinstance(value, str) else ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _cell(col: int, stack: Mapping[str, Any] | None) -> ClientCell:
    if stack is None:
        return ClientCell(col, NOT_ASSESSED, 0, 0, "", "not in this target's results", None, (), ())
    status = stack.get("status")
    raw_first = stack.get("first_break")
    first = None
    if isinstance(raw_first, Mapping):
        first = FirstBreak(
            operation=_text(raw_first.get("operation"), NAME_CLIP),
            field=_text(raw_first.get("field"), NAME_CLIP),
            pointer=_text(raw_first.get("pointer"), VALUE_CLIP),
            kind=KIND_LABELS.get(str(raw_first.get("kind")), "invalid"),
            present=raw_first.get("present") is True,
            value=_text(raw_first.get("value"), VALUE_CLIP),
            error=_text(raw_first.get("error"), MESSAGE_CLIP),
        )
    raw_fields = stack.get("fields")
    fields = tuple(
        (KIND_LABELS[kind], tuple(_text(n, NAME_CLIP) for n in names[:MAX_FIELDS]))
        for kind, names in (raw_fields.items() if isinstance(raw_fields, Mapping) else ())
        if kind in KIND_LABELS and isinstance(names, list)
    )
    notes = stack.get("notes")
    return ClientCell(
        col=col,
        status=status if status in STATUSES else "error",
        bodies=_count(stack.get("bodies")),
        failing=_count(stack.get("failing")),
        library=_text(stack.get("library"), NAME_CLIP),
        reason=_text(stack.get("reason"), MESSAGE_CLIP),
        first=first,
        fields=fields,
        notes=tuple(_text(n, MESSAGE_CLIP) for n in notes[:5]) if isinstance(notes, list) else (),
    )


def clients_section(raw_targets: Sequence[Mapping[str, Any]]) -> ClientsSection:
    """The section for the targets in column order; targets without an entry show "not assessed"."""
    stacks_by_target: list[dict[str, Mapping[str, Any]]] = []
    rows_meta: dict[str, Mapping[str, Any]] = {}
    headlines = []
    for col, target in enumerate(raw_targets):
        impact = target.get("client_impact")
        impact = impact if isinstance(impact, Mapping) else {}
        by_id: dict[str, Mapping[str, Any]] = {}
        for stack in impact.get("stacks") or ():
            if isinstance(stack, Mapping) and isinstance(stack.get("id"), str):
                by_id.setdefault(stack["id"], stack)
                rows_meta.setdefault(stack["id"], stack)
        stacks_by_target.append(by_id)
        head = impact.get("headline")
        if isinstance(head, Mapping):
            breaks = head.get("breaks")
            headlines.append(
                Headline(
                    col,
                    _text(head.get("text"), MESSAGE_CLIP),
                    breaks if isinstance(breaks, bool) else None,
                )
            )
        else:
            headlines.append(Headline(col, "client impact not assessed in this results file", None))
    rows = tuple(
        ClientRow(
            id=clip(stack_id, NAME_CLIP),
            name=_text(meta.get("name"), VALUE_CLIP) or clip(stack_id, NAME_CLIP),
            rules=meta.get("kind") == "rules",
            description=_text(meta.get("description"), MESSAGE_CLIP),
            cells=tuple(
                _cell(col, by_id.get(stack_id)) for col, by_id in enumerate(stacks_by_target)
            ),
        )
        for stack_id, meta in rows_meta.items()
    )
    return ClientsSection(
        "clients", "clients", "Client impact", headlines=tuple(headlines), rows=rows
    )


def clients_sections(raw_targets: Sequence[tuple[int, Mapping[str, Any]]]) -> list[Section]:
    """The section, when any target has an entry (results of older versions have none)."""
    if not any(isinstance(t.get("client_impact"), Mapping) for _, t in raw_targets):
        return []
    return [clients_section([t for _, t in raw_targets])]

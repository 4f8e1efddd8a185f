"""The client-impact entry of each target: every stack run once over the run's Video bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from remixcheck.clients.base import (
    KIND_LABELS,
    KINDS,
    Break,
    Harness,
    HarnessError,
    HarnessUnavailable,
    Judgement,
    Observed,
)
from remixcheck.clients.registry import harnesses
from remixcheck.contract.quoting import show, show_text

WORKS, BREAKS, SKIPPED, ERROR = "works", "breaks", "skipped", "error"
# The stacks the headline speaks for, in order of preference: a real client generated from
# OpenAI's document when one could run here (seed 002's first), else the rules they follow.
HEADLINE_STACKS = ("perl-openapi-client", "pydantic-generated", "typed-decoding-rules")
HEADLINE = "breaks strict clients generated from OpenAI's document"
ERROR_CLIP = 600
COUNT_WORDS = {
    "missing": ("missing field", "missing fields"),
    "null": ("null field", "null fields"),
    "type": ("field of the wrong type", "fields of the wrong type"),
    "enum": ("value outside its enum", "values outside their enums"),
    "invalid": ("invalid field", "invalid fields"),
}


def distinct(observed: Sequence[Mapping[str, Any]]) -> list[Observed]:
    """A target's observed Video bodies, each distinct body once (polls repeat themselves)."""
    seen: dict[str, int] = {}
    out: list[Observed] = []
    for obs in observed:
        body = obs.get("body")
        key = json.dumps(
            [obs.get("operation"), body], sort_keys=True, default=str, ensure_ascii=False
        )
        if key in seen:
            i = seen[key]
            out[i] = Observed(out[i].operation, out[i].status, out[i].body, out[i].count + 1)
            continue
        seen[key] = len(out)
        status = obs.get("status")
        out.append(
            Observed(
                str(obs.get("operation") or ""), status if isinstance(status, int) else 0, body
            )
        )
    return out


def assess(
    per_target: Sequence[Sequence[Mapping[str, Any]]], stacks: Sequence[Harness] | None = None
) -> list[dict[str, Any]]:
    """One client-impact entry per target, from each target's observed_videos.

    Every stack judges the bodies of all targets in one call (one perl process for the run);
    the stacks run side by side, so perl works while the Python clients do.
    """
    chosen = list(stacks) if stacks is not None else harnesses()
    bodies = [distinct(obs) for obs in per_target]
    flat = [b for target in bodies for b in target]
    with ThreadPoolExecutor(
        max_workers=len(chosen), thread_name_prefix="remixcheck-client"
    ) as pool:
        outcomes = list(pool.map(lambda h: _judge(h, flat), chosen))
    entries = []
    start = 0
    for target in bodies:
        end = start + len(target)
        stack_entries = [
            _stack_entry(h, outcome, target, start, end)
            for h, outcome in zip(chosen, outcomes, strict=True)
        ]
        entries.append(
            {
                "observed": sum(b.count for b in target),
                "bodies": len(target),
                "headline": _headline(stack_entries),
                "stacks": stack_entries,
            }
        )
        start = end
    return entries


def _judge(harness: Harness, bodies: list[Observed]) -> Judgement | tuple[str, str]:
    if not bodies:
        return (SKIPPED, "no Video bodies were observed")
    try:
        judgement = harness.judge(bodies)
    except HarnessUnavailable as exc:
        return (SKIPPED, str(exc))
    except HarnessError as exc:
        return (ERROR, str(exc))
    except Exception as exc:
        # A client library choking on a hostile body must not cost the run its results:
        # the stack ends in error, with what the library raised.
        return (ERROR, show_text(f"{harness.id} raised {type(exc).__name__}: {exc}", ERROR_CLIP))
    if len(judgement.breaks) != len(bodies) or (
        judgement.unset is not None and len(judgement.unset) != len(bodies)
    ):
        return (ERROR, f"{harness.id} judged {len(judgement.breaks)} of {len(bodies)} bodies")
    return judgement


def _stack_entry(
    harness: Harness,
    outcome: Judgement | tuple[str, str],
    bodies: list[Observed],
    start: int,
    end: int,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": harness.id,
        "name": harness.name,
        "kind": harness.kind,
        "description": harness.description,
    }
    if isinstance(outcome, tuple):
        status, reason = outcome
        if not bodies and status != SKIPPED:
            status, reason = SKIPPED, "no Video bodies were observed"
        return {
            **entry,
            "library": "",
            "status": status,
            "reason": reason,
            "bodies": len(bodies),
            "failing": 0,
            "first_break": None,
            "fields": {},
            "notes": [],
        }
    breaks = outcome.breaks[start:end]
    failing = [(b, found) for b, found in zip(bodies, breaks, strict=True) if found]
    fields: dict[str, dict[str, None]] = {}
    for _, found in failing:
        for brk in found:
            fields.setdefault(brk.kind, {}).setdefault(brk.field or "(body)", None)
    status = BREAKS if failing else WORKS if bodies else SKIPPED
    return {
        **entry,
        "library": outcome.library,
        "status": status,
        "reason": "" if bodies else "no Video bodies were observed",
        "bodies": len(bodies),
        "failing": len(failing),
        "first_break": _first(*failing[0]) if failing else None,
        "fields": {k: list(fields[k]) for k in KINDS if k in fields},
        "notes": _notes(outcome, start, end),
    }


def _notes(outcome: Judgement, start: int, end: int) -> list[str]:
    if outcome.unset is None:
        return []
    unset = dict.fromkeys(name for names in outcome.unset[start:end] for name in names)
    if not unset:
        return []
    return [
        "loads, but these fields, typed as required, read as None where the vendor left them "
        "out: " + ", ".join(unset)
    ]


def _first(body: Observed, found: list[Break]) -> dict[str, Any]:
    brk = found[0]
    present, value = _lookup(body.body, brk.pointer)
    return {
        "operation": body.operation,
        "status": body.status,
        "field": brk.field or "(body)",
        "pointer": brk.pointer,
        "kind": brk.kind,
        "present": present,
        "value": show(value) if present else "",
        "error": show_text(brk.error, ERROR_CLIP),
    }


def _lookup(body: Any, pointer: str) -> tuple[bool, Any]:
    node = body
    for part in pointer.split("/")[1:] if pointer else ():
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False, None
    return True, node


def _headline(stacks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_id = {s["id"]: s for s in stacks}
    for stack_id in HEADLINE_STACKS:
        stack = by_id.get(stack_id)
        if stack is None or stack["status"] not in (WORKS, BREAKS):
            continue
        breaks = stack["status"] == BREAKS
        counts = [
            f"{len(names)} {COUNT_WORDS[kind][len(names) != 1]}"
            for kind, names in stack["fields"].items()
        ]
        answer = f"yes ({', '.join(counts)})" if breaks else "no"
        return {"stack": stack_id, "breaks": breaks, "text": f"{HEADLINE}: {answer}"}
    reasons = "; ".join(
        f"{by_id[s]['id']} {by_id[s]['status']}: {by_id[s]['reason']}"
        for s in HEADLINE_STACKS
        if s in by_id
    )
    return {"stack": None, "breaks": None, "text": f"{HEADLINE}: not known ({reasons})"}


def summary_lines(entry: Mapping[str, Any]) -> list[str]:
    """The client impact of one target as plain lines, for the terminal."""
    lines = [str(entry.get("headline", {}).get("text", ""))]
    for stack in entry.get("stacks", ()):
        status = stack.get("status")
        label = f"{stack.get('id')}: {status}"
        if stack.get("kind") == "rules":
            label += " (rules, not a client run)"
        if status == BREAKS and stack.get("first_break"):
            first = stack["first_break"]
            value = first["value"] if first["present"] else "absent"
            label += (
                f" on {stack['failing']}/{stack['bodies']} bodies; first: {first['operation']} "
                f"{first['field']} = {value}: {first['error']}"
            )
        elif status in (SKIPPED, ERROR):
            label += f": {stack.get('reason')}"
        lines.append(label)
    return lines


__all__ = ["KIND_LABELS", "assess", "distinct", "summary_lines"]

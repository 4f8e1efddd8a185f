"""The fields section: every field of the contract's Video and error bodies, what each target's
answers held for it, classified against the field's rules."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remixcheck.report.reading import clip, json_text
from remixcheck.report.views import FieldCell, FieldRow, FieldSection, FieldSummary, RunInfo
from remixcheck.report.vocabulary import (
    EXAMPLE_CLIP,
    FIELD_KINDS,
    MAX_EXAMPLES,
    MAX_EXTRA_FIELDS,
    NAME_CLIP,
)


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
def field_rules() -> tuple[str, tuple[FieldRule, ...]]:
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
    from remixcheck.contract.deviations import json_type

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
    text = json_text(value, EXAMPLE_CLIP * 2)
    return text if len(text) <= EXAMPLE_CLIP else text[: EXAMPLE_CLIP - 1] + "…"


def field_section(
    raw_targets: Sequence[tuple[int, Mapping[str, Any]]], runs: Sequence[RunInfo]
) -> FieldSection:
    sha, rules = field_rules()
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

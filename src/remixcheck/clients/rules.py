"""The typed-decoding rules of common generated clients: rules, not a client run.

Clients generated into statically typed languages decode a Video into a struct or class.
Where no such client can run here, remixcheck applies the rules they share, read off OpenAI's
document: a required field that may not be null must be present and not null; an integer
field rejects a number written with a fraction or exponent (12.5, and 12.0 too); a closed enum
rejects a value it does not list; a value of another JSON type is rejected. A nullable field
left out decodes as null (an optional), so leaving it out is no break under these rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from remixcheck.clients import official
from remixcheck.clients.base import RULES, Break, Judgement, Observed
from remixcheck.contract.deviations import json_type
from remixcheck.contract.quoting import show

RULE_NAMES = (
    "a required non-null field must be present and not null",
    "an integer field rejects a number with a fraction or exponent",
    "a closed enum rejects values it does not list",
    "a value of another JSON type is rejected",
)


def _branches(schema: Any) -> tuple[list[dict[str, Any]], bool]:
    """The non-null alternatives of a field's schema, and whether null is allowed."""
    node = official.resolve(schema)
    if not isinstance(node, dict):
        return [], False
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        out: list[dict[str, Any]] = []
        nullable = False
        for option in options:
            branches, null = _branches(option)
            out += branches
            nullable = nullable or null
        return out, nullable
    wanted = node.get("type")
    if wanted == "null":
        return [], True
    if isinstance(wanted, list):
        return [{**node, "type": t} for t in wanted if t != "null"], "null" in wanted
    return [node], False


def _accepts(branch: dict[str, Any], value: Any) -> tuple[bool, str]:
    """Whether one typed alternative decodes the value, and the rule that refuses it."""
    wanted = branch.get("type")
    got = json_type(value)
    if wanted == "integer" and isinstance(value, float):
        return False, f"integer field got the number {show(value)}: {RULE_NAMES[1]}"
    if wanted is not None and got != wanted and not (wanted == "number" and got == "integer"):
        return False, f"{wanted} field got {got}: {RULE_NAMES[3]}"
    enum = branch.get("enum")
    if isinstance(enum, list) and value not in enum:
        listed = ", ".join(str(v) for v in enum)
        return False, f"value not in the closed enum ({listed}): {RULE_NAMES[2]}"
    return True, ""


def _check(schema: dict[str, Any], body: Any, pointer: str) -> Iterator[Break]:
    if not isinstance(body, dict):
        yield Break(pointer, "type", f"object expected, got {json_type(body)}: {RULE_NAMES[3]}")
        return
    required = set(schema.get("required") or ())
    for name, prop in (schema.get("properties") or {}).items():
        where = f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"
        branches, nullable = _branches(prop)
        if name not in body:
            if name in required and not nullable:
                yield Break(where, "missing", f"required field absent: {RULE_NAMES[0]}")
            continue
        value = body[name]
        if value is None:
            if not nullable:
                yield Break(where, "null", f"null in a field that may not be null: {RULE_NAMES[0]}")
            continue
        refusals = []
        for branch in branches:
            ok, why = _accepts(branch, value)
            if ok and branch.get("type") == "object":
                inner = list(_check(branch, value, where))
                if not inner:
                    break
                refusals.append(inner)
                continue
            if ok:
                break
            refusals.append([Break(where, "enum" if "enum" in why else "type", why)])
        else:
            if refusals:  # no alternative decodes it: report what the first one says
                yield from refusals[0]


class TypedDecodingRules:
    id = "typed-decoding-rules"
    name = "Typed-decoding rules of generated clients (rules, not a client run)"
    kind = RULES
    description = "; ".join(RULE_NAMES) + ". Applied by remixcheck to OpenAI's VideoResource."

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        schema = official.video_schema()
        return Judgement(
            f"remixcheck rules over OpenAI's document {official.document_version()}",
            [list(_check(schema, b.body, "")) for b in bodies],
        )

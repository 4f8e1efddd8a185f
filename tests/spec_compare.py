"""A mechanical comparison of two OpenAPI documents, operation by operation, schema by schema.

Each document is normalised first (refs followed, descriptions and x- keys dropped, `const`
read as a one-value `enum`, `type: [T, "null"]` and `anyOf: [T, {type: null}]` both read as a
nullable T), so that only differences of meaning remain. A difference is (path, facet, ours,
theirs); the facets are the ones issue 11 names: operations, required lists, types,
nullability, enums, limits, content types, additionalProperties, requestBody.required and
deprecated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
LIMITS = (
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "pattern",
    "format",
)


@dataclass(frozen=True)
class Difference:
    path: str
    facet: str
    ours: Any
    theirs: Any

    def __str__(self) -> str:
        return f"{self.path} [{self.facet}]: ours {self.ours!r}, OpenAI's {self.theirs!r}"


class Document:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def resolve(self, node: Any) -> Any:
        seen = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise ValueError(f"circular $ref {ref}")
            seen.add(ref)
            target: Any = self.doc
            for token in ref.lstrip("#/").split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def operations(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        out = {}
        for path, item in (self.doc.get("paths") or {}).items():
            for method in METHODS:
                if method in item:
                    out[(method.upper(), path)] = item[method]
        return out

    def schema(self, node: Any) -> dict[str, Any]:
        """A schema reduced to the facets that carry meaning."""
        node = self.resolve(node) or {}
        out: dict[str, Any] = {}
        types: set[str] = set()
        nullable = False
        branches = []
        for key in ("anyOf", "oneOf"):
            for b in node.get(key) or ():
                b = self.resolve(b)
                if b.get("type") == "null" and len(b) == 1:
                    nullable = True
                else:
                    branches.append((key, b))
        merged = dict(node)
        if len(branches) == 1 and not node.get("type"):
            # anyOf [T, null]: a nullable T
            merged = {
                **{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")},
                **branches[0][1],
            }
            branches = []
        t = merged.get("type")
        for name in [t] if isinstance(t, str) else list(t or ()):
            if name == "null":
                nullable = True
            else:
                types.add(name)
        if types:
            out["type"] = sorted(types)
        out["nullable"] = nullable
        enum = merged.get("enum")
        if "const" in merged:
            enum = [merged["const"]]
        if enum is not None:
            out["enum"] = sorted(map(str, enum))
        for limit in LIMITS:
            if limit in merged:
                out[limit] = merged[limit]
        if "required" in merged or "properties" in merged:
            out["required"] = sorted(merged.get("required") or ())
        if "additionalProperties" in merged:
            ap = merged["additionalProperties"]
            out["additionalProperties"] = ap if isinstance(ap, bool) else self.schema(ap)
        if "properties" in merged:
            out["properties"] = {k: self.schema(v) for k, v in merged["properties"].items()}
        if "items" in merged:
            out["items"] = self.schema(merged["items"])
        if branches:
            out["branches"] = [self.schema(b) for _, b in branches]
        return out


def _diff_schema(path: str, ours: dict[str, Any], theirs: dict[str, Any]) -> Iterator[Difference]:
    facets = {
        "type": "type",
        "nullable": "nullable",
        "enum": "enum",
        "required": "required",
        "additionalProperties": "additionalProperties",
        **{limit: "limit" for limit in LIMITS},
    }
    for key, facet in facets.items():
        a, b = ours.get(key), theirs.get(key)
        if key == "additionalProperties" and isinstance(a, dict) and isinstance(b, dict):
            yield from _diff_schema(f"{path}/additionalProperties", a, b)
            continue
        if a != b:
            yield Difference(path, facet if facet != "limit" else f"limit {key}", a, b)
    a_props, b_props = ours.get("properties") or {}, theirs.get("properties") or {}
    for name in sorted(a_props.keys() | b_props.keys()):
        sub = f"{path}/properties/{name}"
        if name not in b_props:
            yield Difference(sub, "property", "declared", None)
        elif name not in a_props:
            yield Difference(sub, "property", None, "declared")
        else:
            yield from _diff_schema(sub, a_props[name], b_props[name])
    if "items" in ours or "items" in theirs:
        yield from _diff_schema(f"{path}/items", ours.get("items") or {}, theirs.get("items") or {})
    a_br, b_br = ours.get("branches") or [], theirs.get("branches") or []
    if len(a_br) != len(b_br):
        yield Difference(path, "branches", len(a_br), len(b_br))
    for i, (a, b) in enumerate(zip(a_br, b_br, strict=False)):
        yield from _diff_schema(f"{path}/branches/{i}", a, b)


def _content(doc: Document, node: Any) -> dict[str, Any]:
    node = doc.resolve(node) or {}
    return {ctype.lower(): m.get("schema") for ctype, m in (node.get("content") or {}).items()}


def compare(ours_doc: Mapping[str, Any], theirs_doc: Mapping[str, Any]) -> list[Difference]:
    ours, theirs = Document(ours_doc), Document(theirs_doc)
    out: list[Difference] = []
    a_ops, b_ops = ours.operations(), theirs.operations()
    for key in sorted(a_ops.keys() | b_ops.keys()):
        where = f"{key[0]} {key[1]}"
        if key not in b_ops:
            out.append(Difference(where, "operation", "declared", None))
            continue
        if key not in a_ops:
            out.append(Difference(where, "operation", None, "declared"))
            continue
        a, b = a_ops[key], b_ops[key]
        if a.get("operationId") != b.get("operationId"):
            out.append(Difference(where, "operationId", a.get("operationId"), b.get("operationId")))
        if bool(a.get("deprecated")) != bool(b.get("deprecated")):
            out.append(
                Difference(
                    where, "deprecated", bool(a.get("deprecated")), bool(b.get("deprecated"))
                )
            )
        out += _parameters(ours, theirs, where, a, b)
        a_body, b_body = ours.resolve(a.get("requestBody")), theirs.resolve(b.get("requestBody"))
        if bool((a_body or {}).get("required")) != bool((b_body or {}).get("required")):
            out.append(
                Difference(
                    f"{where} requestBody",
                    "requestBody.required",
                    bool((a_body or {}).get("required")),
                    bool((b_body or {}).get("required")),
                )
            )
        out += _media(ours, theirs, f"{where} requestBody", a_body, b_body)
        a_resp, b_resp = a.get("responses") or {}, b.get("responses") or {}
        for status in sorted(set(map(str, a_resp)) | set(map(str, b_resp))):
            sub = f"{where} responses/{status}"
            if status not in b_resp:
                out.append(Difference(sub, "response", "declared", None))
            elif status not in a_resp:
                out.append(Difference(sub, "response", None, "declared"))
            else:
                out += _media(ours, theirs, sub, a_resp[status], b_resp[status])
    return out


def _media(ours: Document, theirs: Document, where: str, a: Any, b: Any) -> list[Difference]:
    out = []
    a_c, b_c = _content(ours, a), _content(theirs, b)
    if sorted(a_c) != sorted(b_c):
        out.append(Difference(where, "content types", sorted(a_c), sorted(b_c)))
    for ctype in sorted(a_c.keys() & b_c.keys()):
        out += _diff_schema(f"{where} {ctype}", ours.schema(a_c[ctype]), theirs.schema(b_c[ctype]))
    return out


def _parameters(ours: Document, theirs: Document, where: str, a: Any, b: Any) -> list[Difference]:
    def index(doc: Document, op: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
        params = [doc.resolve(p) for p in op.get("parameters") or ()]
        return {(p["in"], p["name"]): p for p in params}

    out = []
    a_p, b_p = index(ours, a), index(theirs, b)
    for key in sorted(a_p.keys() | b_p.keys()):
        sub = f"{where} parameter {key[0]}:{key[1]}"
        if key not in b_p:
            out.append(Difference(sub, "parameter", "declared", None))
        elif key not in a_p:
            out.append(Difference(sub, "parameter", None, "declared"))
        else:
            if bool(a_p[key].get("required")) != bool(b_p[key].get("required")):
                out.append(
                    Difference(sub, "required", a_p[key].get("required"), b_p[key].get("required"))
                )
            out += _diff_schema(
                sub, ours.schema(a_p[key].get("schema")), theirs.schema(b_p[key].get("schema"))
            )
    return out

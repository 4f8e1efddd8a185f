"""A decoded body judged against its compiled schema: the findings of its jsonschema-rs
errors and of its undeclared names, built once per combination (and per error) and kept."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from remixcheck.contract.deviations import json_type
from remixcheck.contract.findings import Finding, Severity
from remixcheck.contract.origins import OBSERVATION
from remixcheck.contract.quoting import show
from remixcheck.contract.spec import MediaType
from remixcheck.validation.judging import CompiledSchema, Judging
from remixcheck.validation.schema_errors import (
    EXPLAIN_CACHE_MAX,
    KEYWORDS,
    MEMO_MESSAGE_MAX,
    _escape,
    best_branch,
    capped,
    drop_consequences,
    error_message,
    json_pointer,
)

_CONSTANT = jsonschema_rs.ValidationErrorKind.Constant


class SchemaJudging(Judging):
    """Schema errors and undeclared names turned into findings. The base of the request and
    response checks."""

    _findings_weight: int  # what _findings_of holds, in errors and names

    def _schema_findings(
        self, media: MediaType, body: Any, where: str, op: str, status: int | None
    ) -> list[Finding]:
        return self._compiled_findings(self._compile(media), body, where, op, status)

    def _compiled_findings(
        self, compiled: CompiledSchema, body: Any, where: str, op: str, status: int | None
    ) -> list[Finding]:
        # One pass: iter_errors on a valid body costs what is_valid does.
        pending = compiled.validator.iter_errors(body)
        first = next(pending, None)
        declared = compiled.properties
        extras: tuple[tuple[Any, type], ...] = ()
        if declared is not None and isinstance(body, dict) and not declared.issuperset(body):
            # The class of a decoded JSON value is its JSON type (bool apart from int).
            extras = tuple([(k, type(body[k])) for k in body.keys() - declared])
        if first is None and not extras:
            return []
        errors = [first, *pending] if first is not None else []
        # The findings follow from the errors (a message quotes the value, the paths say
        # where) and the undeclared names' types; a gateway repeats its combination.
        shape = tuple(
            [
                (e.message, *e.instance_path, None, *e.schema_path)
                if type(e.kind) is not _CONSTANT
                else _const_shape(e)
                for e in errors
            ]
        )
        key = (compiled.pointer, where, op, status, shape, extras)
        found = self._findings_of.get(key)
        if found is None:
            found = self._remember(
                key,
                self._body_findings(compiled, errors, shape, body, extras, where, op, status),
                all(len(s[0]) <= MEMO_MESSAGE_MAX for s in shape)
                and all(len(str(n)) <= MEMO_MESSAGE_MAX for n, _ in extras),
                # A body with hundreds of undeclared names weighs as much as hundreds of
                # bodies with one: what is kept stays bounded whatever a server sends.
                weight=1 + len(shape) + len(extras),
            )
        return list(found)

    def _body_findings(
        self,
        compiled: CompiledSchema,
        errors: list[Any],
        shape: tuple[tuple[Any, ...], ...],
        body: Any,
        extras: tuple[tuple[Any, type], ...],
        where: str,
        op: str,
        status: int | None,
    ) -> list[Finding]:
        """The findings of one combination of schema errors and undeclared names."""
        memo, out = self._findings_of, []
        if errors:
            found: list[Finding] = []
            for err, err_shape in zip(errors, shape, strict=True):
                # One error recurs in other combinations: its findings are kept alone too.
                key = (compiled.pointer, where, op, status, *err_shape)
                one = memo.get(key)
                if one is None:
                    one = self._remember(
                        key,
                        self._error_findings(err, where, op, status, compiled),
                        len(err.message) <= MEMO_MESSAGE_MAX,
                    )
                found += one
            out += drop_consequences(found) if len(found) > 1 else found
        for name in sorted((name for name, _ in extras), key=str):
            kind = json_type(body[name])
            key = (compiled.pointer, where, op, status, name, kind)
            one = memo.get(key)
            if one is None:
                one = self._remember(
                    key,
                    [self._extra_property(compiled, where, op, status, name, kind)],
                    len(str(name)) <= MEMO_MESSAGE_MAX,
                )
            out += one
        return out

    def _remember(
        self, key: tuple[Any, ...], findings: list[Finding], keep: bool = True, weight: int = 1
    ) -> tuple[Finding, ...]:
        """Keep the findings of a distinct error or combination: the same ones recur across
        exchanges, and building a finding costs several times what the Rust validator does."""
        found = tuple(findings)
        if keep:
            if self._findings_weight + weight > EXPLAIN_CACHE_MAX:
                self._findings_of.clear()
                self._findings_weight = 0
            self._findings_of[key] = found
            self._findings_weight += weight
        return found

    def _extra_property(
        self,
        compiled: CompiledSchema,
        where: str,
        op: str,
        status: int | None,
        key: str,
        kind: str,
    ) -> Finding:
        # OpenAI's schemas are open (no additionalProperties): an undeclared field is
        # allowed, so it is an observation, which a profile may name as its dialect.
        request = where == "request"
        return self._finding(
            "request.body" if request else "response.extra-property",
            where,
            "body",
            "/" + _escape(str(key)),
            op,
            status,
            f"property {show(key)} is not in the contract (allowed, but a dialect marker)",
            severity=Severity.INFO,
            keyword="additionalProperties" if request else "properties",
            expected=None,
            actual=kind,
            spec_location=compiled.pointer + "/properties",
            origin=OBSERVATION,
            why="the schema allows other properties; which ones a server adds marks its dialect",
        )

    def _error_findings(
        self, err: Any, where: str, op: str, status: int | None, compiled: CompiledSchema
    ) -> list[Finding]:
        kind = err.kind
        name = type(kind).__name__
        pointer = json_pointer(err.instance_path)
        location, origin, why = self._locate(tuple(err.schema_path))
        if origin is None:
            origin, why = compiled.origin, compiled.why

        def found(at: str, message: str, **terms: Any) -> Finding:
            return self._finding(
                f"{where}.body",
                where,
                "body",
                at,
                op,
                status,
                message,
                spec_location=location,
                origin=origin,
                why=why,
                **terms,
            )

        if name == "AnyOf":
            nested = best_branch(kind.context, list(err.instance_path))
            if nested is not None:
                return [
                    f for e in nested for f in self._error_findings(e, where, op, status, compiled)
                ]
            types = sorted(
                {
                    t
                    for branch in kind.context
                    for e in branch
                    if type(e.kind).__name__ == "Type"
                    for t in e.kind.types
                }
            )
            return [
                found(
                    pointer,
                    f"{show(err.instance)} is not of type {' or '.join(types) or 'any allowed schema'}",
                    keyword="type" if types else "anyOf",
                    expected=types,
                    actual=err.instance,
                )
            ]
        if name == "Required":
            prop = str(kind.property)
            return [
                found(
                    f"{pointer.rstrip('/')}/{_escape(prop)}" if pointer else f"/{_escape(prop)}",
                    f"required property {show(prop)} is missing",
                    keyword="required",
                    expected="present",
                    actual="missing",
                )
            ]
        if name == "AdditionalProperties":
            return [
                found(
                    f"{pointer}/{_escape(str(p))}",
                    f"property {show(p)} is not allowed here",
                    keyword="additionalProperties",
                    expected="no other properties",
                    actual=p,
                )
                for p in kind.unexpected
            ]
        keyword = KEYWORDS.get(name, name[:1].lower() + name[1:])
        expected: Any = None
        actual: Any = err.instance
        if name == "Type":
            expected = list(kind.types)
        elif name == "Enum":
            expected = list(kind.options)
        elif name == "Constant":
            expected = kind.expected_value
        elif name in ("MinLength", "MaxLength"):
            expected = kind.limit
            actual = len(err.instance) if isinstance(err.instance, str) else err.instance
        elif hasattr(kind, "limit"):
            expected = kind.limit
        return [
            found(
                pointer,
                error_message(err),
                keyword=keyword,
                expected=expected,
                actual=capped(actual),
            )
        ]


def _const_shape(err: Any) -> tuple[Any, ...]:
    """An error's findings follow from its message, which quotes the value found and the
    keyword's terms, and its paths; but a const error's message names only the value
    expected ('"video" was expected'), so the value found is added to it."""
    message = f"{err.message} | {show(err.instance)}"
    return (message, *err.instance_path, None, *err.schema_path)

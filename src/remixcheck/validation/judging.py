"""Findings built with their spec location, origin and the profile deviation that explains
each (cached per shape), and a body's decoding problems turned into findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remixcheck.contract.deviations import json_type
from remixcheck.contract.findings import Finding, Severity, Verdict
from remixcheck.contract.profiles import Profile
from remixcheck.contract.spec import (
    CONVENTION,
    PUBLISHED,
    Contract,
    MediaType,
)
from remixcheck.traffic import jsonsafe
from remixcheck.validation.locations import Locating
from remixcheck.validation.schema_errors import (
    EXPLAIN_CACHE_MAX,
    UNSEEN,
    excerpt,
)


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    validator: Any
    properties: frozenset[str] | None  # declared top-level properties of an object schema
    origin: str | None
    why: str | None
    pointer: str


class Judging(Locating):
    """Findings with their spec location, origin and the profile deviation that explains them,
    and decoding problems turned into findings. `schema_judging` builds on it."""

    profile: Profile
    contract: Contract
    _compiled: dict[str, CompiledSchema]
    _explained: dict[tuple[Any, ...], Any]
    _findings_of: dict[tuple[Any, ...], tuple[Finding, ...]]

    def _compile(self, media: MediaType) -> CompiledSchema:
        raise NotImplementedError  # the Validator compiles; a check only asks

    def _json_problems(
        self,
        decoded: jsonsafe.Decoded,
        where: str,
        op: str,
        status: int | None,
        body: Any,
        media: MediaType,
        *,
        origin: tuple[str, str | None],
    ) -> list[Finding]:
        """One finding per way a body is not RFC 8259 JSON (see jsonsafe); never an exception."""
        out = []
        for problem in decoded.problems:
            keyword = "json" if problem.kind == jsonsafe.SYNTAX else problem.kind
            message = f"body is not valid JSON: {problem.message}"
            if problem.pointer:
                out.append(
                    self._finding(
                        f"{where}.body",
                        where,
                        "body",
                        problem.pointer,
                        op,
                        status,
                        message,
                        keyword=keyword,
                        expected="RFC 8259 JSON",
                        actual=problem.kind,
                        spec_location=media.schema_pointer,
                        origin=origin[0],
                        why=origin[1],
                    )
                )
            else:
                out.append(
                    self._undecodable(
                        where, op, status, keyword, message, body, media, origin=origin
                    )
                )
        return out

    def _undecodable(
        self,
        where: str,
        op: str,
        status: int | None,
        keyword: str,
        message: str,
        body: Any,
        media: MediaType,
        *,
        origin: tuple[str, str | None],
    ) -> Finding:
        """The finding for a body that is not the JSON or multipart its content type says."""
        return self._finding(
            f"{where}.body",
            where,
            "body",
            "",
            op,
            status,
            message,
            keyword=keyword,
            expected="multipart/form-data" if keyword == "multipart" else "RFC 8259 JSON",
            actual=excerpt(body),
            spec_location=media.schema_pointer,
            origin=origin[0],
            why=origin[1],
        )

    def _finding(
        self,
        check: str,
        where: str,
        location: str,
        pointer: str,
        operation: str | None,
        status: int | None,
        message: str,
        *,
        severity: Severity = Severity.ERROR,
        keyword: str | None = None,
        expected: Any = None,
        actual: Any = None,
        spec_location: str | None = None,
        origin: str | None = None,
        why: str | None = None,
    ) -> Finding:
        # The same finding shapes recur across exchanges; matching them is the slow part.
        key = (check, where, operation, status, keyword, pointer, json_type(actual))
        deviation = self._explained.get(key, UNSEEN)
        if deviation is UNSEEN:
            if len(self._explained) > EXPLAIN_CACHE_MAX:
                self._explained.clear()  # pointers of unknown keys are unbounded
            deviation = self._explained[key] = self.profile.explain(
                check=check,
                where=where,
                operation=operation,
                status=status,
                keyword=keyword,
                pointer=pointer,
                actual=actual,
            )
        if deviation is not None:
            verdict = Verdict.DEVIATION
        else:
            verdict = Verdict.PASS if severity is Severity.INFO else Verdict.VIOLATION
        if origin is None:
            # Error responses are ours to declare; everything else is OpenAI's document.
            origin = CONVENTION if status is not None and status >= 400 else PUBLISHED
        return Finding(
            check=check,
            verdict=verdict,
            severity=severity,
            message=message,
            where=where,
            location=location,
            pointer=pointer,
            operation=operation,
            keyword=keyword,
            expected=expected,
            actual=actual,
            spec_location=spec_location,
            origin=origin,
            origin_why=why,
            deviation=deviation,
            status=status,
        )

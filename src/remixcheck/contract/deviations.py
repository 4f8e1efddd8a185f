"""A profile's documented deviations and known bugs, and the matchers that say which findings a
deviation explains."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Matcher:
    """Which findings a deviation explains. Every given constraint must hold."""

    check: str | None = None
    where: str | None = None
    operations: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    keyword: str | None = None
    pointers: tuple[str, ...] = ()
    actual_types: tuple[str, ...] = ()
    only_empty: bool = False

    def matches(
        self,
        *,
        check: str,
        where: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        keyword: str | None = None,
        pointer: str = "",
        actual: Any = None,
        must_be_set: bool = False,
    ) -> bool:
        if self.only_empty and must_be_set:
            return False
        if self.check is not None and not fnmatch.fnmatchcase(check, self.check):
            return False
        if self.where is not None and where != self.where:
            return False
        if self.operations and operation not in self.operations:
            return False
        if self.status and (
            status is None or not any(_status_matches(p, status) for p in self.status)
        ):
            return False
        if self.keyword is not None and keyword != self.keyword:
            return False
        if self.pointers and not any(fnmatch.fnmatchcase(pointer, p) for p in self.pointers):
            return False
        return not (self.actual_types and json_type(actual) not in self.actual_types)


def _status_matches(pattern: str, status: int) -> bool:
    code = str(status)
    return len(code) == 3 and all(p in ("X", c) for p, c in zip(pattern, code, strict=True))


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value (integral floats count as number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True, slots=True)
class Deviation:
    id: str
    reason: str
    source: str
    match: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class KnownBug:
    """A behaviour of the vendor that breaks the contract and is a bug, not a dialect.

    It explains nothing: the findings stay violations. It names the checks it turns red so
    a reader (and the tests) can tell a known bug from a new one.
    """

    id: str
    summary: str
    evidence: str
    checks: tuple[str, ...]

    def covers(self, check_id: str) -> bool:
        return any(fnmatch.fnmatchcase(check_id, p) for p in self.checks)

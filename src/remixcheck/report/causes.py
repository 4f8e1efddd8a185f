"""Findings grouped by root cause: one missing field that turns seven checks red is one cause.

Works on the results dict (results.json), so the terminal, the HTML report and the
Markdown summary group the same way. Findings about the same part of the answer (the
same field missing, the same field of the wrong type, the same header missing) are one
cause, whichever checks saw them; a status finding is a cause of its own check, except a
server error, which is one cause per operation and status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from remixcheck.contract.origins import label
from remixcheck.results.display import short_ids


@dataclass(slots=True)
class Cause:
    key: tuple[Any, ...]
    label: str
    checks: list[str] = field(default_factory=list)
    findings: int = 0
    example: str = ""  # the first finding's message
    server_message: str = ""
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "checks": self.checks,
            "findings": self.findings,
            "example": self.example,
            "server_message": self.server_message,
            "origin": self.origin,
        }


def _missing(f: Mapping[str, Any]) -> bool:
    return f.get("keyword") == "required" or f.get("actual") in ("absent", "missing")


def cause_key(check: str, f: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a finding is about, as far as the reader's fix goes."""
    location, pointer = f.get("location") or "", f.get("pointer") or ""
    status = f.get("status")
    if location == "status" or f.get("keyword") == "status":
        if isinstance(status, int) and status >= 500:
            return ("server-error", f.get("operation"), status)
        return ("status", check)
    if location == "body" and pointer and f.get("check") in ("response.body", check):
        if _missing(f):
            return ("missing", f.get("where"), pointer)
        if f.get("check") == "response.body":
            return ("schema", f.get("where"), pointer, f.get("keyword"))
    if location == "header":
        return ("header", pointer)
    if location == "content-type":
        return ("content-type", f.get("where"))
    return ("finding", check, pointer, f.get("keyword"))


def _label(key: tuple[Any, ...], f: Mapping[str, Any]) -> str:
    kind = key[0]
    if kind == "missing":
        return f"{key[2]} is missing from the {key[1] or 'response'} body"
    if kind == "schema":
        return f"{key[2]} breaks the schema ({key[3]}) in the {key[1] or 'response'} body"
    if kind == "server-error":
        return f"{key[1] or 'a request'} answers {key[2]}"
    if kind == "header":
        return f"header {key[1]}"
    if kind == "content-type":
        return "the content type of the answers"
    return short_ids(str(f.get("message") or ""))


def group(checks: Iterable[Mapping[str, Any]], *, strict: bool = False) -> list[Cause]:
    """The root causes of one target's failing checks, the cause that touches most checks first."""
    failing = {"violation"} | ({"deviation"} if strict else set())
    causes: dict[tuple[Any, ...], Cause] = {}
    for c in checks:
        if c.get("outcome") not in failing:
            continue
        check = str(c.get("check"))
        for f in c.get("findings") or ():
            if not isinstance(f, Mapping) or f.get("verdict") not in failing:
                continue
            if f.get("severity") == "info":
                continue
            key = cause_key(check, f)
            cause = causes.get(key)
            if cause is None:
                cause = causes[key] = Cause(
                    key, _label(key, f), example=short_ids(str(f.get("message") or ""))
                )
                # "our convention (OpenAI's API answers ...)": the origin with its why
                cause.origin = label(
                    str(f.get("origin") or "") or None, str(f.get("origin_why") or "") or None
                )
            if check not in cause.checks:
                cause.checks.append(check)
            cause.findings += 1
            if not cause.server_message and c.get("server_message"):
                cause.server_message = short_ids(str(c["server_message"]))
    return sorted(causes.values(), key=lambda x: -len(x.checks))

"""Routing: a request's method and path to an operation of the contract, through the vendor's
base paths (longest first); the video id is the raw segment, percent-decoded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from remixcheck.contract.spec import (
    Operation,
)


@dataclass(frozen=True, slots=True)
class Route:
    operation: Operation
    video_id: str | None  # the raw path segment, percent-decoded
    base_path: str
    compat: bool


class Routing:
    """A request's path routed to an operation through the vendor's base paths and id format."""

    _prefixes: list[tuple[tuple[str, ...], bool, str]]
    _routes: list[tuple[str, tuple[str, ...], Operation]]
    _by_method: dict[str, Any]  # method -> (one pattern for its routes, operation by group)

    # -- routing -------------------------------------------------------------

    def route(self, method: str, path: str) -> Route | None:
        """The operation a request is for, through the vendor's path prefixes; None when none.

        Empty segments do not count ("//v1/videos/" is /v1/videos). Each method's routes are
        one regular expression, tried in the order of the prefixes (longest first) and then of
        the operations: a capture is routed in C, once per exchange.
        """
        table = self._by_method.get(method)
        if table is None:
            table = self._table(method)
        pattern, targets = table
        match = pattern.match(path)
        if match is None:
            return None
        op, base, compat, has_id = targets[match.lastgroup]  # type: ignore[index]
        video_id = unquote(match.group(match.lastindex + 1)) if has_id else None  # type: ignore[operator]
        return Route(op, video_id, base, compat)

    def _table(
        self, method: str
    ) -> tuple[re.Pattern[str], dict[str, tuple[Operation, str, bool, bool]]]:
        alternatives: list[str] = []
        targets: dict[str, tuple[Operation, str, bool, bool]] = {}
        for prefix, compat, base in self._prefixes:
            for op_method, op_segments, op in self._routes:
                if op_method != method.upper():
                    continue
                parts = [re.escape(p) for p in prefix]
                parts += ["([^/]+)" if s.startswith("{") else re.escape(s) for s in op_segments]
                name = f"r{len(alternatives)}"
                alternatives.append(f"(?P<{name}>/*{'/+'.join(parts)})")
                targets[name] = (op, base, compat, any(s.startswith("{") for s in op_segments))
        body = "|".join(alternatives) or "(?!)"
        table = (re.compile(f"(?:{body})/*\\Z"), targets)
        if len(self._by_method) < 64:  # methods are untrusted text: keep the table small
            self._by_method[method] = table
        return table

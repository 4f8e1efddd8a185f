"""Routing: a request's method and path to an operation of the contract, through the vendor's
base paths (longest first); the video id is the raw segment, percent-decoded."""

from __future__ import annotations

from dataclasses import dataclass
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

    # -- routing -------------------------------------------------------------

    def route(self, method: str, path: str) -> Route | None:
        """The operation a request is for, through the vendor's path prefixes; None when none."""
        segments = [s for s in path.split("/") if s]
        for prefix, compat, base in self._prefixes:
            if tuple(segments[: len(prefix)]) != prefix:
                continue
            rest = segments[len(prefix) :]
            for op_method, op_segments, op in self._routes:
                if op_method != method.upper() or len(op_segments) != len(rest):
                    continue
                video_id = None
                for want, got in zip(op_segments, rest, strict=True):
                    if want.startswith("{"):
                        video_id = unquote(got)
                    elif want != got:
                        break
                else:
                    return Route(op, video_id, base, compat)
        return None

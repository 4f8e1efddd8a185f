"""The data every client stack speaks: bodies in, breaks out, and how a stack can fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

CLIENT = "client"  # a real library ran on the bodies
RULES = "rules"  # decoding rules applied by remixcheck: no client ran

# How a body breaks a client, worst first (the order summaries list them in).
KINDS = ("missing", "null", "type", "enum", "invalid")
KIND_LABELS = {
    "missing": "missing field",
    "null": "null field",
    "type": "wrong type",
    "enum": "unknown enum value",
    "invalid": "invalid value",
}


class HarnessUnavailable(Exception):
    """The harness's runtime is missing here: its stack is skipped with this reason."""


@dataclass(frozen=True, slots=True)
class Observed:
    """One distinct Video body a target returned, and how often it came back."""

    operation: str
    status: int
    body: Any
    count: int = 1


@dataclass(frozen=True, slots=True)
class Break:
    """The first (or one) thing a client rejects in a body, in the client's own words."""

    pointer: str  # JSON pointer into the body ("" for the body itself)
    kind: str  # one of KINDS
    error: str  # the client's error text (for rules: the rule's)

    @property
    def field(self) -> str:
        """The top-level Video field the pointer falls in."""
        head = self.pointer.split("/")[1] if self.pointer.startswith("/") else ""
        return head.replace("~1", "/").replace("~0", "~")


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one stack made of a batch of bodies."""

    library: str  # what ran, with versions, e.g. "openai 3.54.0 (pydantic 2.14.4)"
    breaks: list[list[Break]]  # one list per body, in the client's order; empty: it loads
    # Per body, fields that loaded but read as None although the client types them as
    # required (a lenient load of an omitted field): no break, but a typed reader trips on it.
    unset: list[list[str]] | None = None


class HarnessError(Exception):
    """The harness started but could not finish (a crash, a timeout): the stack ends in error."""


class Harness(Protocol):
    """A client stack: runs on a batch of bodies, offline."""

    id: str
    name: str
    kind: str  # CLIENT or RULES
    description: str

    def judge(self, bodies: Sequence[Observed]) -> Judgement:
        """Raises HarnessUnavailable when its runtime is missing, HarnessError when it fails."""
        ...

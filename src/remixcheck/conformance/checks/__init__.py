"""The conformance catalogue: a registry of checks, each with a stable id and metadata.

A check declares the requests it sends (`RequestSpec`), so `--plan` lists exactly what
a run would send, and a `run` function that sends them through the Context and judges
the answers. Adding a check is one entry in one family module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remixcheck.contract.findings import Severity
from remixcheck.contract.origins import CONVENTION

if TYPE_CHECKING:
    from remixcheck.conformance.checks.context import Context
    from remixcheck.contract.profiles import Profile
    from remixcheck.results.model import CheckResult

FREE, MAY_BILL, BILLABLE = "free", "may-bill", "billable"


@dataclass(frozen=True, slots=True)
class Body:
    """A request body as sent: raw bytes plus a shell expression for very long ones."""

    content: bytes
    content_type: str | None
    shell: str | None = None  # reproduces `content` in a curl line without pasting 32 KB

    @classmethod
    def json(cls, value: Any, shell: str | None = None) -> Body:
        return cls(json.dumps(value, ensure_ascii=False).encode(), "application/json", shell)

    @classmethod
    def multipart(cls, fields: dict[str, str]) -> Body:
        boundary = "remixcheck-7d1c2a9e"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        ]
        return cls(
            ("".join(parts) + f"--{boundary}--\r\n").encode(),
            f"multipart/form-data; boundary={boundary}",
        )

    @classmethod
    def raw(cls, content: bytes, content_type: str | None) -> Body:
        return cls(content, content_type)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request a check sends. Path placeholders: {source} {remix} {unknown} {bare}."""

    method: str
    path: str  # relative to the base path, e.g. /videos/{source}/remix
    body: Body | None = None
    auth: str = "valid"  # valid | none | invalid
    billing: str = FREE  # billable: starts a paid job; may-bill: would if wrongly accepted
    compat: bool = False  # sent under the vendor's compatibility base path
    repeat: str = ""  # e.g. "until terminal": the request is polled
    note: str = ""
    # {source} may be a source video that is not completed: the request is refused for
    # another reason first (no key, a bad prompt), so it still runs when the source is pending.
    any_source: bool = False

    @property
    def operation(self) -> str:
        """The contract operation this request is for."""
        if self.path.endswith("/remix"):
            return "CreateVideoRemix"
        return "createVideo" if self.method == "POST" else "GetVideo"


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    family: str
    title: str
    description: str
    severity: Severity
    requests: tuple[RequestSpec, ...]
    run: Callable[[Context, Check], CheckResult]
    applies: Callable[[Profile], str | None] = field(
        default=lambda _p: None
    )  # a skip reason, or None
    # Checks whose run leaves state this one reads (a job, its polls); the ids its requests
    # name ({source}, {remix}) add their own providers, see `prerequisites`.
    needs: tuple[str, ...] = ()

    @property
    def prerequisites(self) -> tuple[str, ...]:
        """Ids of the checks that must run first for this one to have what it needs."""
        out = list(self.needs)
        paths = " ".join(r.path for r in self.requests)
        for placeholder, provider in PROVIDERS.items():
            if placeholder in paths and provider != self.id and provider not in out:
                out.append(provider)
        return tuple(out)

    # Where the rule the check holds comes from (origins.py), and why, in words. A check
    # of OpenAI's document says PUBLISHED; one of OpenAI's conventions says CONVENTION and
    # why; one that only records what a server does says OBSERVATION and ends `info`.
    origin: str = CONVENTION
    why: str = ""

    @property
    def billing(self) -> str:
        kinds = {r.billing for r in self.requests}
        return BILLABLE if BILLABLE in kinds else MAY_BILL if MAY_BILL in kinds else FREE


REGISTRY: dict[str, Check] = {}

# Which check provides the id each path placeholder stands for.
PROVIDERS = {
    "{source}": "source.retrieve",
    "{bare}": "source.retrieve",
    "{remix}": "positive.remix-json",
}


def with_prerequisites(chosen: list[Check]) -> list[Check]:
    """`chosen` plus every check they need (transitively), in registry (execution) order.

    So `--checks 'negative.*'`, `pytest -k` or `--lf` never turn a check that needs a source
    video into a skip: its provider runs too, and its result is reported like any other.
    """
    wanted = {c.id for c in chosen}
    todo = list(chosen)
    while todo:
        for need in todo.pop().prerequisites:
            if need in REGISTRY and need not in wanted:
                wanted.add(need)
                todo.append(REGISTRY[need])
    return [c for c in catalogue() if c.id in wanted]


def register(check: Check) -> Check:
    existing = REGISTRY.get(check.id)
    # A family module imported again (pytester, importlib.reload) re-registers the same check.
    if existing is not None and (existing.family, existing.title, existing.description) != (
        check.family,
        check.title,
        check.description,
    ):
        raise ValueError(f"duplicate check id {check.id}")
    REGISTRY[check.id] = check
    return check


# Execution order: the source video first, free negatives, then the billable positives
# (with the not-completed case right after the first remix), then polling (nothing may
# delay the first poll: it must see the job early), what follows from the new job, then
# compat; error content last, as it reads every error answer before it.
FAMILY_MODULES = (
    "source",
    "negative",
    "bodies",
    "positive",
    "lifecycle",
    "follow",
    "headers",
    "compat",
    "errors",
)


def catalogue() -> list[Check]:
    """Every check, in the order a run executes them."""
    import importlib

    for name in FAMILY_MODULES:
        importlib.import_module(f"remixcheck.conformance.checks.{name}")
    return list(REGISTRY.values())

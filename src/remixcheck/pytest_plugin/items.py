"""The collected tree: one collector per target, one item per check (`remixcheck/<target>::<check>`),
and the failure text of a check that did not pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from remixcheck.contract.origins import label
from remixcheck.contract.quoting import show

if TYPE_CHECKING:
    from remixcheck.conformance.targets import Target
    from remixcheck.pytest_plugin.state import SessionState


@dataclass
class TargetSpec:
    name: str
    vendor: str
    target: Target | None  # None for emulators, started when the target first runs
    checks: list[str] = field(default_factory=list)


class RemixcheckTarget(pytest.Collector):
    """One target of the conformance run; its children are the checks."""

    spec: TargetSpec

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        for check_id in self.spec.checks:
            items.append(RemixcheckItem.from_parent(self, name=check_id))
        return items


class CheckFailed(Exception):
    """A check ended in violation (or deviation under --remixcheck-strict)."""


class RemixcheckItem(pytest.Item):
    """One target x check."""

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, RemixcheckTarget)
        state: SessionState = self.config.stash[STATE_KEY]
        result = state.result_for(self.session, parent.spec, self.name)
        outcome = result["outcome"]
        if outcome == "skipped":
            pytest.skip(result["reason"])
        if outcome == "error":
            raise CheckFailed(f"remixcheck could not complete {self.name}: {result['reason']}")
        if outcome == "precondition":
            # Not a verdict on the server, but nothing was proven either: fail with the fix.
            raise CheckFailed(f"precondition for {self.name} not met: {result['reason']}")
        if outcome == "violation" or (outcome == "deviation" and state.strict):
            raise CheckFailed(_describe(parent.spec.name, result))
        if outcome == "deviation":
            pytest.xfail("documented deviation: " + ", ".join(result["deviations"]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"remixcheck {self.nodeid}"


def origin_of(origin: str | None, why: str | None) -> str:
    text = label(origin, why)
    return f"  [origin: {text}]" if text else ""


def _describe(target: str, result: dict[str, Any]) -> str:
    reason = f" ({result['reason']})" if result["reason"] else ""
    origin = origin_of(result.get("origin"), result.get("origin_why"))
    lines = [f"{target} / {result['check']}: {result['outcome']}{reason}{origin}"]
    for f in result["findings"]:
        if f["verdict"] == "pass":
            continue
        where = f["pointer"] or f["location"]
        dev = f"  [documented: {f['deviation']}]" if f["deviation"] else ""
        lines.append(
            f"  {f['verdict']}: {where}: {f['message']} (expected {show(f['expected'])}, got {show(f['actual'])}){dev}"
            f"{origin_of(f.get('origin'), f.get('origin_why'))}"
        )
    if result.get("server_message"):
        lines.append(f"  server said: {result['server_message']}")
    if result["evidence"]:
        lines.append(f"  reproduce: {result['evidence'][-1]['curl']}")
    return "\n".join(lines)


STATE_KEY = pytest.StashKey["SessionState"]()

"""Fixtures for users' own tests: `remixcheck_contract` (validate exchanges) and
`remixcheck_emulator` (a vendor emulator for the session)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from remixcheck.contract.quoting import show

if TYPE_CHECKING:
    from remixcheck.emulator import RunningEmulator
    from remixcheck.validation.validator import ExchangeResult
from remixcheck.pytest_plugin.items import origin_of


def _marker_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("remixcheck")
    return dict(marker.kwargs) if marker else {}


class ContractChecker:
    """What `remixcheck_contract` gives a test: validate one response (and its request)."""

    def __init__(self, vendor: str, strict: bool) -> None:
        self.vendor = vendor
        self.strict = strict

    def validate(
        self, response: Any, vendor: str | None = None, *, strict: bool | None = None
    ) -> ExchangeResult:
        """Validate an httpx or requests response; raise AssertionError listing every finding."""
        from remixcheck.contract.findings import best_first
        from remixcheck.traffic.exchange import exchange_from_response
        from remixcheck.validation.validator import Validator

        validator = Validator.for_vendor(vendor or self.vendor)
        exchange = exchange_from_response(response, source="test")
        result = validator.validate(exchange)
        if result is None:
            raise AssertionError(
                f"{exchange.request.method} {exchange.request.path} is not a remix API request under "
                f"{validator.profile.id}'s paths ({', '.join(validator.profile.all_base_paths)})"
            )
        strict = self.strict if strict is None else strict
        failing = {"violation", "deviation"} if strict else {"violation"}
        bad = [
            f for f in result.findings if f.verdict.value in failing and f.severity.value != "info"
        ]
        if bad:
            lines = [
                f"{len(bad)} contract finding(s) for {result.operation} under {validator.profile.id}:"
            ]
            for f in best_first(bad):
                dev = f" [documented: {f.deviation}]" if f.deviation else ""
                lines.append(
                    f"  {f.where} {f.pointer or f.location}: {f.message} (expected {show(f.expected)}, got {show(f.actual)}){dev}"
                    f"{origin_of(f.origin, f.origin_why)}"
                )
            raise AssertionError("\n".join(lines))
        return result


@pytest.fixture
def remixcheck_contract(request: pytest.FixtureRequest) -> ContractChecker:
    """Validate responses your test got against the contract and a vendor profile."""
    kwargs = _marker_kwargs(request)
    vendor = kwargs.get("vendor") or request.config.getoption("remixcheck_vendor") or "openai"
    strict = kwargs.get("strict")
    return ContractChecker(
        vendor,
        bool(request.config.getoption("remixcheck_strict")) if strict is None else bool(strict),
    )


class _EmulatorPool:
    """Emulators shared by every test of the session, one per (vendor, faults)."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._running: dict[tuple[str, tuple[str, ...]], RunningEmulator] = {}

    def get_or_start(self, vendor: str, faults: tuple[str, ...]) -> RunningEmulator:
        from remixcheck.emulator import running_emulator

        key = (vendor, faults)
        if key not in self._running:
            self._running[key] = self._stack.enter_context(
                running_emulator(vendor, faults=faults, job_seconds=0.5)
            )
        return self._running[key]


@pytest.fixture(scope="session")
def _remixcheck_emulators() -> Iterator[_EmulatorPool]:
    with contextlib.ExitStack() as stack:
        yield _EmulatorPool(stack)


@pytest.fixture
def remixcheck_emulator(
    request: pytest.FixtureRequest, _remixcheck_emulators: _EmulatorPool
) -> RunningEmulator:
    """A running emulator on loopback: .base_url, .api_key, .source_video_id.

    Pick the vendor (and faults) with @pytest.mark.remixcheck(vendor=..., faults=[...]) or
    indirect parametrization with a vendor name or {"vendor": ..., "faults": [...]}.
    """
    kwargs = _marker_kwargs(request)
    param = getattr(request, "param", None)
    if isinstance(param, str):
        kwargs["vendor"] = param
    elif isinstance(param, dict):
        kwargs.update(param)
    vendor = kwargs.get("vendor") or request.config.getoption("remixcheck_vendor") or "openai"
    faults = kwargs.get("faults") or ()
    faults = (faults,) if isinstance(faults, str) else tuple(faults)
    return _remixcheck_emulators.get_or_start(vendor, faults)

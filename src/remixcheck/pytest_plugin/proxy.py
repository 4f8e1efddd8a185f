"""`remixcheck_proxy`: a validating proxy in front of one test's target; the test fails when
the traffic through it broke the contract (`pytest_runtest_makereport` turns a pass red)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from remixcheck.pytest_plugin.fixtures import _marker_kwargs

if TYPE_CHECKING:
    from remixcheck.proxy import Line, RunningProxy

_PROXIES = pytest.StashKey[list["ProxyForTest"]]()


class ProxyForTest:
    """What `remixcheck_proxy` gives a test: a validating proxy in front of its target."""

    def __init__(self, running: RunningProxy, lines: list[Line], strict: bool) -> None:
        self.running = running
        self.base_url = running.base_url
        self.upstream = running.upstream
        self.vendor = running.session.profile.id
        self.api_key: str | None = None  # set when the target is a bundled emulator
        self.source_video_id: str | None = None
        self._lines = lines
        self._strict = strict

    def problems(self) -> list[str]:
        """The printed line of every exchange that fails the test, once all are judged."""
        self.running.settle()
        failing = {"violation", "error"} | ({"deviation"} if self._strict else set())
        return [line.text for line in self._lines if line.verdict in failing]

    def results(self) -> dict[str, Any]:
        """Everything judged so far, as results.json holds it (keys scrubbed)."""
        return self.running.settle().public_dict()


@pytest.fixture
def remixcheck_proxy(request: pytest.FixtureRequest) -> Iterator[ProxyForTest]:
    """A validating proxy for one test: point the client at .base_url (+ the vendor's /v1).

    The upstream is @pytest.mark.remixcheck(upstream=URL), else --remixcheck-base-url,
    else the bundled emulator of the marker's vendor (and faults). The test fails when an
    exchange through the proxy violates the contract (deviations too when strict).
    """
    from remixcheck.proxy import ProxyConfig, RunningProxy

    kwargs = _marker_kwargs(request)
    vendor = kwargs.get("vendor") or request.config.getoption("remixcheck_vendor") or "openai"
    upstream = kwargs.get("upstream") or request.config.getoption("remixcheck_base_url")
    emulator = None
    if not upstream:
        emulator = request.getfixturevalue("remixcheck_emulator")
        upstream = emulator.base_url
    strict = kwargs.get("strict")
    strict = bool(request.config.getoption("remixcheck_strict")) if strict is None else bool(strict)
    lines: list[Line] = []
    running = RunningProxy(
        ProxyConfig(upstream=upstream, vendor=vendor, strict=strict), lines.append
    )
    proxy = ProxyForTest(running, lines, strict)
    if emulator is not None:
        proxy.api_key, proxy.source_video_id = emulator.api_key, emulator.source_video_id
    request.node.stash.setdefault(_PROXIES, []).append(proxy)
    try:
        yield proxy
    finally:
        running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test that passed fails when the traffic of its remixcheck_proxy broke the contract."""
    report = yield
    proxies = item.stash.get(_PROXIES, None)
    if call.when != "call" or not proxies:
        return report
    problems = [line for proxy in proxies for line in proxy.problems()]
    if problems:
        text = "\n".join(
            [f"remixcheck_proxy: {len(problems)} exchange(s) broke the contract:", *problems]
        )
        if report.passed:
            report.outcome = "failed"
            report.longrepr = text
        else:
            report.sections.append(("remixcheck proxy", text))
    return report

"""pytest plugin: the conformance catalogue as test items, and fixtures for users' own tests.

Loaded in every pytest session where remixcheck is installed, so it imports only pytest
and the standard library at load; the runner, emulators and HTML stack load on first use.
Without a --remixcheck-* target option it collects nothing."""

from __future__ import annotations

from typing import Any

import pytest

# Hooks and fixtures must be attributes of this module (the pytest11 entry point) to be found.
from remixcheck.pytest_plugin.fixtures import (
    _remixcheck_emulators,
    remixcheck_contract,
    remixcheck_emulator,
)
from remixcheck.pytest_plugin.items import STATE_KEY, RemixcheckTarget
from remixcheck.pytest_plugin.proxy import pytest_runtest_makereport, remixcheck_proxy
from remixcheck.pytest_plugin.state import SHARED_DIR_KEY, SessionState

__all__ = [
    "_remixcheck_emulators",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "remixcheck_contract",
    "remixcheck_emulator",
    "remixcheck_proxy",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("remixcheck", "remixcheck: contract tests of the video remix API")
    group.addoption(
        "--remixcheck-base-url", help="Run the conformance catalogue against this base URL."
    )
    group.addoption(
        "--remixcheck-vendor",
        help="Vendor profile of --remixcheck-base-url; default vendor of the fixtures.",
    )
    group.addoption(
        "--remixcheck-api-key-env",
        help="Environment variable holding the key (default: the vendor's).",
    )
    group.addoption("--remixcheck-video-id", help="An existing completed video to remix.")
    group.addoption(
        "--remixcheck-max-billable",
        type=int,
        help="Cap on requests that may start a paid job, per target, shared by all xdist workers.",
    )
    group.addoption(
        "--remixcheck-emulate",
        nargs="?",
        const="all",
        help="Run against the bundled emulators: 'all' (default) or a comma-separated list of vendors.",
    )
    group.addoption(
        "--remixcheck-config",
        nargs="?",
        const="",
        help="Run the [[targets]] of this config (default: ./remixcheck.toml or [tool.remixcheck] in ./pyproject.toml).",
    )
    group.addoption(
        "--remixcheck-checks", help="Comma-separated shell patterns of check ids to collect."
    )
    group.addoption(
        "--remixcheck-report",
        help="Write the HTML compatibility report here (results.json beside it).",
    )
    group.addoption(
        "--remixcheck-strict",
        action="store_true",
        help="Documented deviations fail instead of xfail.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "remixcheck(vendor=None, faults=(), strict=None, upstream=None): vendor profile (and emulator faults, or the upstream of remixcheck_proxy) for the remixcheck fixtures.",
    )
    if not _enabled(config):
        return
    config.stash[STATE_KEY] = SessionState(config)


def _enabled(config: pytest.Config) -> bool:
    return any(
        config.getoption(name) is not None
        for name in ("remixcheck_base_url", "remixcheck_emulate", "remixcheck_config")
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: tell each worker where the shared budget and results live."""
    state = node.config.stash.get(STATE_KEY, None)
    if state is not None:
        node.workerinput[SHARED_DIR_KEY] = str(state.shared_dir)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    for spec in state.target_specs():
        collector = RemixcheckTarget.from_parent(
            session, name=spec.name, nodeid=f"remixcheck/{spec.name}"
        )
        collector.spec = spec
        items.extend(session.genitems(collector))


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None:
        state.finish(session.config)

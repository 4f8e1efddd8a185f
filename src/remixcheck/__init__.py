"""remixcheck: contract tests for the OpenAI-style video remix API and its vendors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remixcheck.__about__ import __version__

if TYPE_CHECKING:
    from remixcheck.contract.findings import Finding, Severity, Verdict
    from remixcheck.contract.profiles import Profile
    from remixcheck.contract.spec import Contract
    from remixcheck.errors import RemixcheckError
    from remixcheck.traffic.exchange import Exchange
    from remixcheck.validation.validator import Validator

__all__ = [
    "Contract",
    "Exchange",
    "Finding",
    "Profile",
    "RemixcheckError",
    "Severity",
    "Validator",
    "Verdict",
    "__version__",
]

# Loaded on first use: `import remixcheck` (done by the CLI and the pytest plugin) stays cheap.
_LAZY = {
    "Contract": "remixcheck.contract.spec",
    "Exchange": "remixcheck.traffic.exchange",
    "Finding": "remixcheck.contract.findings",
    "Profile": "remixcheck.contract.profiles",
    "RemixcheckError": "remixcheck.errors",
    "Severity": "remixcheck.contract.findings",
    "Validator": "remixcheck.validation.validator",
    "Verdict": "remixcheck.contract.findings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'remixcheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

"""remixcheck: contract tests for the OpenAI-style video remix API and its vendors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remixcheck.__about__ import __version__

if TYPE_CHECKING:
    from remixcheck.contract import Contract
    from remixcheck.errors import RemixcheckError
    from remixcheck.exchange import Exchange
    from remixcheck.findings import Finding, Severity, Verdict
    from remixcheck.validate import Validator
    from remixcheck.vendors import Profile

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
    "Contract": "remixcheck.contract",
    "Exchange": "remixcheck.exchange",
    "Finding": "remixcheck.findings",
    "Profile": "remixcheck.vendors",
    "RemixcheckError": "remixcheck.errors",
    "Severity": "remixcheck.findings",
    "Validator": "remixcheck.validate",
    "Verdict": "remixcheck.findings",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'remixcheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

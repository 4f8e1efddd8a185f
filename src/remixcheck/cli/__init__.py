"""Command line: parse options, call one library function, choose how output looks, exit.

Exit codes: 0 conformant, 1 violations (or errors) found, 2 usage or input error.
One module per command; `group` holds the command group and its error handling, `options`
the options commands share, `output` the summaries and reports of `run` and `fuzz`.
Heavy modules are imported inside the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

# Importing a command module registers its command on the group.
from remixcheck.cli import (
    checks,
    fuzz,
    proxy,
    replay,
    report,
    run,
    serve,
    spec,
    validate,
    vendors,
)
from remixcheck.cli.group import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "checks",
    "fuzz",
    "main",
    "proxy",
    "replay",
    "report",
    "run",
    "serve",
    "spec",
    "validate",
    "vendors",
]

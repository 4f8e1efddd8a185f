"""Options the commands share, declared once, and the parameter types they use."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_JOB_SECONDS = 0.6


# The ceiling of every number option (seconds, or requests per second): a day is past any
# sensible run, and far below where deadlines overflow the platform's time_t (about 1e11 s).
MAX_NUMBER = 86_400.0


class Finite(click.FloatRange):
    """A float range that refuses nan and inf (which every comparison of a plain range lets by),
    and anything over MAX_NUMBER unless the option sets its own maximum."""

    name = "finite number"

    def __init__(
        self, min: float | None = None, max: float | None = MAX_NUMBER, **kwargs: Any
    ) -> None:
        super().__init__(min, max, **kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


MAX_JOBS = 256


def _jobs(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """-j: a number of processes, or 0 / auto for one per CPU this process may use."""
    text = value.strip().lower()
    if text in ("0", "auto"):
        usable = getattr(os, "sched_getaffinity", None)
        return min(MAX_JOBS, len(usable(0)) if usable else os.cpu_count() or 1)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_JOBS:
        raise click.BadParameter(
            f"{value!r} is not a number of processes (1..{MAX_JOBS}, 0 or auto)."
        )
    return int(text)


def jobs_option(help: str) -> Callable[[Any], Any]:
    """-j/--jobs N|auto, as the command's processes."""
    return click.option(
        "-j", "--jobs", metavar="N|auto", default="1", callback=_jobs, show_default=True, help=help
    )


# Options the commands share, declared once.
FAULT = click.option(
    "--fault",
    "faults",
    multiple=True,
    help="With --emulate: break one named thing in every emulator (see `remixcheck serve --list-faults`).",
)


JOB_SECONDS = click.option(
    "--job-seconds",
    type=Finite(min=0.05, max=600),
    default=DEFAULT_JOB_SECONDS,
    show_default=True,
    help="With --emulate: emulated job duration.",
)


REPORT_DIR = click.option(
    "--report-dir",
    # Checked (one line, exit 2) by results.check_report_dir before any request is sent.
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
)


STRICT = click.option("--strict", is_flag=True, help="Count documented deviations as violations.")


VENDOR = click.option(
    "--vendor",
    help="Vendor profile of the --base-url target: a bundled name (see `remixcheck vendors`) "
    "or the path to a profile .yaml of your own.",
)


NAME = click.option(
    "--name",
    "target_name",
    help="Name of the --base-url target in the output and reports (default: the profile's id).",
)


FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the results (as written to results.json) on stdout; the summary goes to stderr.",
)


READ_TIMEOUT = click.option(
    "--timeout",
    "read_timeout",
    type=Finite(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for each request as a whole: connect, headers and the whole body.",
)


CONNECT_TIMEOUT = click.option(
    "--connect-timeout",
    type=Finite(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds.",
)


MAX_RETRY_WAIT = click.option(
    "--max-retry-wait",
    type=Finite(min=0),
    default=30.0,
    show_default=True,
    help="Total seconds to wait on 429 Retry-After, per target; past it a check ends as 'rate limited'.",
)


MAX_BODY_BYTES = click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1024),
    default=1_048_576,
    show_default=True,
    help="Response bodies are cut (and reported) beyond this many decoded bytes, at every Content-Encoding layer.",
)

"""Output shared by `run` and `fuzz`: summaries, the written reports, the exit code of a run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from remixcheck.cli.group import EXIT_FINDINGS, EXIT_OK, make_console
from remixcheck.errors import RemixcheckError


def describe(value: Any) -> str:
    return str(getattr(value, "description", value))


OUTCOME_STYLE = {
    "pass": "green",
    "deviation": "yellow",
    "violation": "bold red",
    "info": "cyan",
    "skipped": "dim",
    "precondition": "magenta",
    "error": "magenta",
}


def origin_text(item: dict[str, Any]) -> str:
    """ "[our convention: OpenAI's API answers ...]" for a finding or check dict, or ""."""
    from remixcheck.contract.origins import LABELS

    origin = item.get("origin")
    if not origin:
        return ""
    why = item.get("origin_why")
    return f" [{LABELS.get(origin, origin)}{': ' + why if why else ''}]"


def existing_results(report_dir: Path) -> dict[str, Any] | None:
    """The results.json already in the report dir, when it is one of ours; else None."""
    from remixcheck.results.model import load_results

    path = report_dir / "results.json"
    if not path.is_file():
        return None
    try:
        return load_results(path)
    except RemixcheckError:
        return None  # not ours, or unreadable: replaced, as before


def exit_for(result: Any) -> None:
    """Exit code: 130 when interrupted, 1 when failing or nothing was proved, else 0."""
    from remixcheck.conformance import stopping

    if result.interrupted:
        click.echo("remixcheck: interrupted: partial results written", err=True)
        sys.exit(stopping.EXIT_INTERRUPTED)
    sys.exit(EXIT_FINDINGS if result.failing() else EXIT_OK)


def finish(
    data: dict[str, Any], report_dir: Path, fmt: str, title: str, summary: Callable[[Any], None]
) -> None:
    """Print the summary, write the reports, then the CI conventions: JSON on stdout with
    --format json (the summary then goes to stderr), a Markdown step summary under GitHub Actions."""
    import json

    from remixcheck.traffic.redact import redact

    data = redact(data)  # already scrubbed; these outputs go through the one layer all the same
    console = make_console(stderr=fmt == "json")
    summary(console)
    written = write_outputs(data, report_dir)
    console.print("wrote " + ", ".join(str(p) for p in written))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        from remixcheck.report.markdown import append_summary

        try:
            append_summary(Path(step_summary), data, title)
        except OSError as exc:
            click.echo(
                f"remixcheck: warning: cannot append to $GITHUB_STEP_SUMMARY: {exc.strerror or exc}",
                err=True,
            )
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def progress_bars() -> Any:
    """The live progress of run and fuzz: one bar per target, on stderr, kept only on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = make_console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    )


def print_summary(data: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from remixcheck.report import terminal

    targets = data["targets"]
    table = Table(title="conformance", show_lines=False)
    table.add_column("check", no_wrap=True)
    for t in targets:
        table.add_column(t["name"], overflow="fold")
    by_check: dict[str, dict[str, str]] = {}
    for t in targets:
        for c in t["checks"]:
            by_check.setdefault(c["check"], {})[t["name"]] = c["outcome"]
    for check, cells in by_check.items():
        table.add_row(
            check,
            *(
                f"[{OUTCOME_STYLE[cells[t['name']]]}]{cells[t['name']]}[/]"
                if t["name"] in cells
                else ""
                for t in targets
            ),
        )
    console.print(table)
    terminal.print_deviations(console, targets)
    for t in targets:
        counts = t["counts"]
        console.print(
            f"[bold]{t['name']}[/] ({t['vendor']}, {t['base_url']}): "
            + ", ".join(f"[{OUTCOME_STYLE[k]}]{v} {k}[/]" for k, v in counts.items() if v)
            + f"; {t['requests_sent']} requests, {t['billable_sent']} billable"
        )
        if t.get("client_impact"):
            from remixcheck.clients.impact import summary_lines

            head, *stacks = summary_lines(t["client_impact"])
            console.print(f"  client impact: {head}", markup=False)
            for line in stacks:
                console.print(f"    {line}", markup=False)
        terminal.print_failures(console, t, strict=bool(data.get("strict")))


def write_outputs(data: dict[str, Any], report_dir: Path) -> list[Path]:
    from remixcheck.report.junit import write_junit
    from remixcheck.results.model import write_json

    written = [
        write_json(data, report_dir / "results.json"),
        write_junit(data, report_dir / "junit.xml"),
    ]
    if data.get("interrupted"):
        # A stop must end the process in a second or two; rendering the page takes about one.
        click.echo(
            f"remixcheck: compat.html not written (interrupted); render it with "
            f"`remixcheck report {report_dir / 'results.json'}`",
            err=True,
        )
        return written
    try:
        from remixcheck.report.html import write_html
    except ImportError:  # pragma: no cover - the HTML report ships with the package
        return written
    written.append(write_html([data], report_dir / "compat.html"))
    return written

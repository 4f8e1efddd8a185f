"""`remixcheck validate`: recorded traffic judged against the contract, offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from remixcheck.cli.group import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, main, make_console
from remixcheck.cli.options import STRICT, jobs_option
from remixcheck.cli.output import origin_text


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--vendor", required=True, help="Vendor profile name, or a path to a profile .yaml.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@jobs_option(
    "Processes to validate with (0 or auto: one per CPU). JSON lines and large HAR files are "
    "cut into pieces; stdin goes to one process whole. The report is the same."
)
@STRICT
def validate(files: tuple[Path, ...], vendor: str, fmt: str, jobs: int, strict: bool) -> None:
    """Validate recorded traffic (HAR 1.2 or JSON lines) against the contract.

    A JSON line is {"request": {"method", "url", "headers", "body"}, "response":
    {"status", "headers", "body"}}; a body is a JSON value or a string.
    """
    import json

    from remixcheck.traffic import redact
    from remixcheck.validation import offline
    from remixcheck.validation.validator import Validator

    # Cached per process: the -j workers, forked from this one, start with it built.
    validator = Validator.for_vendor(vendor)
    # A capture usually holds the key of the vendor's own variable: never print it back.
    redact.register(os.environ.get(validator.profile.key_env))
    if jobs == 1:
        report = offline.validate_files(files, validator)
    else:
        from remixcheck.validation import parallel

        report = parallel.validate_parallel(files, vendor, jobs)
    failing = report.violations + (report.verdicts["deviation"] if strict else 0)
    if fmt == "json":
        click.echo(json.dumps(redact.redact(report.to_dict()), indent=2, default=str))
    else:
        _print_offline(report)
    if report.bad_record_count:
        click.echo(
            f"remixcheck: error: {report.bad_record_count} record(s) could not be read", err=True
        )
        sys.exit(EXIT_USAGE)
    if report.validated == 0:
        click.echo(
            f"remixcheck: error: no exchange in the input is a request to the remix API under "
            f"{validator.profile.id}'s paths ({', '.join(validator.profile.all_base_paths)})",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if failing else EXIT_OK)


def _print_offline(report: Any) -> None:
    from rich.table import Table

    from remixcheck.traffic.redact import redact

    console = make_console()
    data = redact(report.to_dict())
    by = data["exchanges_by_verdict"]
    console.print(
        f"[bold]{data['validated']}[/] exchanges validated against [bold]{data['vendor']}[/] "
        f"({data['not_covered']} not for the remix API, {data['bad_records']} unreadable): "
        f"[green]{by['pass']} pass[/], [yellow]{by['deviation']} deviation[/], [red]{by['violation']} violation[/]"
    )
    if data["findings"]:
        table = Table(show_lines=False)
        for col in (
            "verdict",
            "count",
            "operation",
            "status",
            "where",
            "pointer",
            "finding",
            "origin",
            "deviation",
        ):
            table.add_column(col, overflow="fold")
        colour = {"violation": "red", "deviation": "yellow", "pass": "dim"}
        for f in data["findings"]:
            table.add_row(
                f"[{colour[f['verdict']]}]{f['verdict']}[/]",
                str(f["count"]),
                f["operation"] or "",
                str(f["status"] or ""),
                f["where"],
                f["pointer"] or f["location"],
                f["message"],
                origin_text(f).strip(" []"),
                f["deviation"] or "",
            )
        console.print(table)
    for bad in data["bad_record_examples"]:
        console.print(f"[red]unreadable[/] {bad['source']}: {bad['reason']}")

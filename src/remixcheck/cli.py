"""Command line: parse options, call one library function, choose how output looks, exit.

Exit codes: 0 conformant, 1 violations (or errors) found, 2 usage or input error.
Heavy modules are imported inside the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from remixcheck.__about__ import __version__
from remixcheck.errors import RemixcheckError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Group(click.Group):
    """Turns the tool's own exceptions into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RemixcheckError as exc:
            click.echo(f"remixcheck: error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("remixcheck: interrupted", err=True)
            ctx.exit(130)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="remixcheck")
def main() -> None:
    """Contract tests for the OpenAI-style video remix API and its vendors."""


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


@main.command()
def spec() -> None:
    """Print the path of the bundled canonical contract (OpenAPI 3.1 YAML)."""
    from remixcheck import resources

    click.echo(str(resources.spec_path()))


@main.command(name="vendors")
def vendors_cmd() -> None:
    """List the bundled vendor profiles and their documented deviations."""
    from rich.table import Table

    from remixcheck import vendors

    table = Table(title="vendor profiles", show_lines=False)
    for col in ("vendor", "base paths", "request types", "video id", "deviations"):
        table.add_column(col)
    for name in vendors.available():
        p = vendors.load(name)
        table.add_row(
            p.id,
            ", ".join(p.all_base_paths),
            ", ".join(p.content_types),
            p.video_id.example,
            "\n".join(d.id for d in p.deviations) or "-",
        )
    _console().print(table)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--vendor", required=True, help="Vendor profile name, or a path to a profile .yaml.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Count documented deviations as violations.")
def validate(files: tuple[Path, ...], vendor: str, fmt: str, strict: bool) -> None:
    """Validate recorded traffic (HAR 1.2 or JSON lines) against the contract.

    A JSON line is {"request": {"method", "url", "headers", "body"}, "response":
    {"status", "headers", "body"}}; a body is a JSON value or a string.
    """
    import json

    from remixcheck import offline, vendors
    from remixcheck.validate import Validator

    validator = Validator(vendors.load(vendor))
    report = offline.validate_files(files, validator)
    failing = report.violations + (report.verdicts["deviation"] if strict else 0)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
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

    console = _console()
    data = report.to_dict()
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
                f["deviation"] or "",
            )
        console.print(table)
    for bad in data["bad_record_examples"]:
        console.print(f"[red]unreadable[/] {bad['source']}: {bad['reason']}")


@main.command()
@click.option("--vendor", required=True, help="Vendor dialect to emulate.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--api-key",
    envvar="REMIXCHECK_EMULATOR_API_KEY",
    show_envvar=True,
    help="Accepted bearer key (generated and printed when not given).",
)
@click.option(
    "--job-seconds",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Wall time of a job from queued to done.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    help="Break one named thing of the contract (repeatable; see --list-faults).",
)
@click.option("--list-faults", is_flag=True, help="List the injectable faults and exit.")
def serve(
    vendor: str,
    host: str,
    port: int,
    api_key: str | None,
    job_seconds: float,
    faults: tuple[str, ...],
    list_faults: bool,
) -> None:
    """Run one vendor emulator (a reference server of that dialect)."""
    from remixcheck import emulator, vendors

    if list_faults:
        for name, description in emulator.FAULTS.items():
            click.echo(f"{name:28} {_describe(description)}")
        return
    vendors.load(vendor)
    unknown = [f for f in faults if f.split(":", 1)[0] not in emulator.FAULTS]
    if unknown:
        raise click.BadParameter(
            f"unknown fault(s) {', '.join(unknown)}; see --list-faults", param_hint="--fault"
        )
    key = api_key or emulator.generate_api_key(vendor)
    config = emulator.EmulatorConfig(
        vendor=vendor, api_key=key, job_seconds=job_seconds, faults=faults
    )

    def ready(base_url: str, accepted_key: str, source_video_id: str) -> None:
        shown = "(from --api-key / REMIXCHECK_EMULATOR_API_KEY)" if api_key else accepted_key
        click.echo(f"remixcheck emulator for {vendor} on {base_url}")
        click.echo(f"  API key:         {shown}")
        click.echo(f"  source video id: {source_video_id} (completed, ready to remix)")
        if faults:
            click.echo(f"  faults:          {', '.join(faults)}")

    emulator.serve(config, host=host, port=port, on_ready=ready)


def _describe(value: Any) -> str:
    return str(getattr(value, "description", value))

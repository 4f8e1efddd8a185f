"""Command line: parse options, call one library function, choose how output looks, exit.

Exit codes: 0 conformant, 1 violations (or errors) found, 2 usage or input error.
Heavy modules are imported inside the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from remixcheck.__about__ import __version__
from remixcheck.errors import RemixcheckError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
DEFAULT_JOB_SECONDS = 0.6


class _Finite(click.FloatRange):
    """A float range that refuses nan and inf (which every comparison of a plain range lets by)."""

    name = "finite number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


# Options the commands share, declared once.
_FAULT = click.option(
    "--fault",
    "faults",
    multiple=True,
    help="With --emulate: break one named thing in every emulator (see `remixcheck serve --list-faults`).",
)
_JOB_SECONDS = click.option(
    "--job-seconds",
    type=_Finite(min=0.05, max=600),
    default=DEFAULT_JOB_SECONDS,
    show_default=True,
    help="With --emulate: emulated job duration.",
)
_REPORT_DIR = click.option(
    "--report-dir",
    # Checked (one line, exit 2) by results.check_report_dir before any request is sent.
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
)
_STRICT = click.option("--strict", is_flag=True, help="Count documented deviations as violations.")
_VENDOR = click.option(
    "--vendor",
    help="Vendor profile of the --base-url target: a bundled name (see `remixcheck vendors`) "
    "or the path to a profile .yaml of your own.",
)
_NAME = click.option(
    "--name",
    "target_name",
    help="Name of the --base-url target in the output and reports (default: the profile's id).",
)
_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the results (as written to results.json) on stdout; the summary goes to stderr.",
)
_READ_TIMEOUT = click.option(
    "--timeout",
    "read_timeout",
    type=_Finite(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for each request as a whole: connect, headers and the whole body.",
)
_CONNECT_TIMEOUT = click.option(
    "--connect-timeout",
    type=_Finite(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds.",
)
_MAX_RETRY_WAIT = click.option(
    "--max-retry-wait",
    type=_Finite(min=0),
    default=30.0,
    show_default=True,
    help="Total seconds to wait on 429 Retry-After, per target; past it a check ends as 'rate limited'.",
)
_MAX_BODY_BYTES = click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1024),
    default=1_048_576,
    show_default=True,
    help="Response bodies are cut (and reported) beyond this many decoded bytes, at every Content-Encoding layer.",
)


class _Group(click.Group):
    """Turns the tool's own exceptions into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RemixcheckError as exc:
            _error_line(str(exc))
            ctx.exit(EXIT_USAGE)
        except click.UsageError as exc:  # a bad flag value: one line too, not click's three
            where = exc.ctx.command_path if exc.ctx is not None else "remixcheck"
            _error_line(f"{exc.format_message()} (see `{where} --help`)")
            ctx.exit(EXIT_USAGE)
        except click.ClickException as exc:
            _error_line(exc.format_message())
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("remixcheck: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            # A bug of ours, not bad input; still one line (with no key in it) unless asked.
            if os.environ.get("REMIXCHECK_TRACEBACK"):
                raise
            _error_line(
                f"internal error: {type(exc).__name__}: {exc} "
                "(a remixcheck bug: please report it; REMIXCHECK_TRACEBACK=1 shows where)"
            )
            ctx.exit(EXIT_USAGE)


def _error_line(message: str) -> None:
    """One line on stderr, with no form of any loaded key (an error may quote a server or a file)."""
    from remixcheck.traffic.redact import redact

    text = " ".join(redact(message).split())  # one line, whatever the message held
    click.echo(f"remixcheck: error: {text}", err=True)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="remixcheck")
def main() -> None:
    """Contract tests for the OpenAI-style video remix API and its vendors."""
    from remixcheck.traffic.redact import install_log_filter

    install_log_filter()


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # logs and CI: wide enough that check ids do not wrap
    return console


@main.command()
def spec() -> None:
    """Print the path of the bundled canonical contract (OpenAPI 3.1 YAML)."""
    from remixcheck.contract import resources

    click.echo(str(resources.spec_path()))


@main.command(name="vendors")
def vendors_cmd() -> None:
    """List the bundled vendor profiles and their documented deviations."""
    from rich.table import Table

    from remixcheck.contract import profiles as vendors

    table = Table(title="vendor profiles", show_lines=False)
    for col in ("vendor", "base paths", "request types", "video id", "deviations"):
        table.add_column(col)
    notices = []
    for name in vendors.available():
        p = vendors.load(name)
        table.add_row(
            p.id,
            ", ".join(b or "/" for b in p.all_base_paths),
            ", ".join(p.content_types),
            p.video_id.example,
            "\n".join(d.id for d in p.deviations) or "-",
        )
        if p.upstream_notice:
            notices.append(f"{p.id}: {p.upstream_notice}")
    console = _console()
    console.print(table)
    for line in notices:
        console.print(line, markup=False, highlight=False)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--vendor", required=True, help="Vendor profile name, or a path to a profile .yaml.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_STRICT
def validate(files: tuple[Path, ...], vendor: str, fmt: str, strict: bool) -> None:
    """Validate recorded traffic (HAR 1.2 or JSON lines) against the contract.

    A JSON line is {"request": {"method", "url", "headers", "body"}, "response":
    {"status", "headers", "body"}}; a body is a JSON value or a string.
    """
    import json

    from remixcheck.contract import profiles as vendors
    from remixcheck.traffic import redact
    from remixcheck.validation import offline
    from remixcheck.validation.validator import Validator

    validator = Validator(vendors.load(vendor))
    # A capture usually holds the key of the vendor's own variable: never print it back.
    redact.register(os.environ.get(validator.profile.key_env))
    report = offline.validate_files(files, validator)
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

    console = _console()
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
                _origin_text(f).strip(" []"),
                f["deviation"] or "",
            )
        console.print(table)
    for bad in data["bad_record_examples"]:
        console.print(f"[red]unreadable[/] {bad['source']}: {bad['reason']}")


@main.command()
@click.option("--vendor", help="Vendor dialect to emulate (required unless --list-faults).")
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
    type=_Finite(0, 3600),
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
    vendor: str | None,
    host: str,
    port: int,
    api_key: str | None,
    job_seconds: float,
    faults: tuple[str, ...],
    list_faults: bool,
) -> None:
    """Run one vendor emulator (a reference server of that dialect)."""
    from remixcheck import emulator
    from remixcheck.conformance import keys
    from remixcheck.contract import profiles as vendors

    if list_faults:
        for name, description in emulator.FAULTS.items():
            click.echo(f"{name:28} {_describe(description)}")
        return
    if vendor is None:
        raise click.UsageError("Missing option '--vendor' (or --list-faults).")
    vendors.load(vendor)
    if api_key is not None:
        keys.check(api_key, "--api-key / REMIXCHECK_EMULATOR_API_KEY")
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


@main.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def checks(fmt: str) -> None:
    """List the conformance catalogue: id, family, billing, description."""
    import json

    from remixcheck.conformance.checks import catalogue

    items = catalogue()
    if fmt == "json":
        rows = [
            {
                "id": c.id,
                "family": c.family,
                "title": c.title,
                "description": c.description,
                "severity": str(c.severity),
                "billing": c.billing,
            }
            for c in items
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{len(items)} checks, in run order")
    for col in ("id", "billing", "description"):
        table.add_column(col, overflow="fold")
    for c in items:
        colour = {"billable": "red", "may-bill": "yellow"}.get(c.billing, "green")
        table.add_row(c.id, f"[{colour}]{c.billing}[/]", c.description)
    _console().print(table)


_OUTCOME_STYLE = {
    "pass": "green",
    "deviation": "yellow",
    "violation": "bold red",
    "info": "cyan",
    "skipped": "dim",
    "precondition": "magenta",
    "error": "magenta",
}


def _origin_text(item: dict[str, Any]) -> str:
    """ "[our convention: OpenAI's API answers ...]" for a finding or check dict, or ""."""
    from remixcheck.contract.origins import LABELS

    origin = item.get("origin")
    if not origin:
        return ""
    why = item.get("origin_why")
    return f" [{LABELS.get(origin, origin)}{': ' + why if why else ''}]"


@main.command()
@click.argument("emulate_vendors", nargs=-1, metavar="[VENDOR...]")
@click.option(
    "--emulate",
    is_flag=True,
    help="Start the bundled emulators on loopback (all four when no VENDOR is named) and run against each.",
)
@click.option(
    "--base-url", help="Base URL of one target (scheme and host, e.g. https://api.openai.com)."
)
@_VENDOR
@_NAME
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config with [[targets]] (default: ./remixcheck.toml or [tool.remixcheck] in ./pyproject.toml).",
)
@click.option(
    "--target", "target_names", multiple=True, help="Run only this config target (repeatable)."
)
@click.option(
    "--api-key-env",
    help="Environment variable holding the key (default: the vendor's, e.g. OPENAI_API_KEY). Keys are never taken on the command line.",
)
@click.option("--video-id", help="An existing completed video to remix, instead of creating one.")
@click.option(
    "--max-billable",
    type=click.IntRange(min=0),
    help="Cap on requests that may start a paid job. Default: 0 for non-loopback hosts, unlimited on loopback.",
)
@click.option(
    "--plan",
    "plan_only",
    is_flag=True,
    help="Print every request the run would send, marked billable or not, and send nothing.",
)
@click.option(
    "--checks",
    "check_patterns",
    multiple=True,
    help="Run only checks whose id matches (shell pattern, repeatable), e.g. 'negative.*'.",
)
@_REPORT_DIR
@_STRICT
@_FORMAT
@_CONNECT_TIMEOUT
@_READ_TIMEOUT
@click.option(
    "--max-time",
    type=_Finite(min=0.1),
    help="Seconds for each target, enforced mid-request. Default: --poll-timeout + 10 x --timeout.",
)
@click.option(
    "--poll-timeout",
    type=_Finite(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to poll a job before giving up.",
)
@click.option(
    "--poll-interval",
    type=_Finite(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between polls when the server sends no openai-poll-after-ms.",
)
@click.option("--rate", type=_Finite(min=0.01), help="Max requests per second per target.")
@_MAX_RETRY_WAIT
@_MAX_BODY_BYTES
@_FAULT
@_JOB_SECONDS
def run(
    emulate_vendors: tuple[str, ...],
    emulate: bool,
    base_url: str | None,
    vendor: str | None,
    target_name: str | None,
    config_path: Path | None,
    target_names: tuple[str, ...],
    api_key_env: str | None,
    video_id: str | None,
    max_billable: int | None,
    plan_only: bool,
    check_patterns: tuple[str, ...],
    report_dir: Path,
    strict: bool,
    fmt: str,
    connect_timeout: float,
    read_timeout: float,
    max_time: float | None,
    poll_timeout: float,
    poll_interval: float,
    rate: float | None,
    max_retry_wait: float,
    max_body_bytes: int,
    faults: tuple[str, ...],
    job_seconds: float,
) -> None:
    """Run the conformance catalogue against a base URL, config targets, or the bundled emulators.

    Writes results.json, junit.xml and compat.html under --report-dir (fuzz results already
    there are kept). Exit 0 when no check ends in violation or error and every target proved
    something, 1 otherwise, 2 on usage or input errors, 130 when interrupted.
    """
    import contextlib

    from remixcheck.conformance import runner, stopping
    from remixcheck.conformance.checks.context import Settings
    from remixcheck.conformance.transport import TransportSettings
    from remixcheck.results.model import check_report_dir

    options = runner.RunOptions(
        checks=tuple(p for pattern in check_patterns for p in pattern.split(",") if p),
        transport=TransportSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_body_bytes=max_body_bytes,
            rate=rate,
            max_retry_wait=max_retry_wait,
        ),
        context=Settings(
            poll_timeout=poll_timeout,
            poll_interval=min(poll_interval, 0.1) if emulate else poll_interval,
        ),
        strict=strict,
        max_time=max_time if max_time is not None else poll_timeout + 10 * read_timeout,
    )
    runner.select(
        options.checks
    )  # a pattern that matches nothing is a usage error, before any work
    with contextlib.ExitStack() as stack:
        chosen = _choose_targets(
            stack,
            command="run",
            emulate=emulate,
            emulate_vendors=emulate_vendors,
            base_url=base_url,
            vendor=vendor,
            target_name=target_name,
            api_key_env=api_key_env,
            video_id=video_id,
            max_billable=max_billable,
            faults=faults,
            job_seconds=job_seconds,
            config_path=config_path,
            target_names=target_names,
            require_key=not plan_only,
        )
        if plan_only:
            planned = runner.plan(chosen, options)
            if fmt == "json":
                import dataclasses
                import json

                click.echo(json.dumps([dataclasses.asdict(p) for p in planned], indent=2))
            else:
                _print_plan(planned, chosen)
            return
        check_report_dir(report_dir)  # before any request: results must have somewhere to go
        with stopping.signals_stop():
            result = _run_with_progress(runner, chosen, options)
        data = runner.public_dict(result, chosen)
    from remixcheck.results.model import merge_catalogue

    merged = merge_catalogue(_existing_results(report_dir), data)
    _finish(
        merged, report_dir, fmt, "remixcheck run", lambda console: _print_summary(data, console)
    )
    _exit(result)


def _existing_results(report_dir: Path) -> dict[str, Any] | None:
    """The results.json already in the report dir, when it is one of ours; else None."""
    from remixcheck.results.model import load_results

    path = report_dir / "results.json"
    if not path.is_file():
        return None
    try:
        return load_results(path)
    except RemixcheckError:
        return None  # not ours, or unreadable: replaced, as before


def _exit(result: Any) -> None:
    """Exit code: 130 when interrupted, 1 when failing or nothing was proved, else 0."""
    from remixcheck.conformance import stopping

    if result.interrupted:
        click.echo("remixcheck: interrupted: partial results written", err=True)
        sys.exit(stopping.EXIT_INTERRUPTED)
    sys.exit(EXIT_FINDINGS if result.failing() else EXIT_OK)


def _finish(
    data: dict[str, Any], report_dir: Path, fmt: str, title: str, summary: Callable[[Any], None]
) -> None:
    """Print the summary, write the reports, then the CI conventions: JSON on stdout with
    --format json (the summary then goes to stderr), a Markdown step summary under GitHub Actions."""
    import json

    from remixcheck.traffic.redact import redact

    data = redact(data)  # already scrubbed; these outputs go through the one layer all the same
    console = _console(stderr=fmt == "json")
    summary(console)
    written = _write_outputs(data, report_dir)
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


def _choose_targets(
    stack: Any,
    *,
    command: str,
    emulate: bool,
    emulate_vendors: tuple[str, ...],
    base_url: str | None,
    vendor: str | None,
    api_key_env: str | None,
    video_id: str | None,
    max_billable: int | None,
    faults: tuple[str, ...],
    job_seconds: float,
    target_name: str | None = None,
    config_path: Path | None = None,
    target_names: tuple[str, ...] = (),
    require_key: bool = True,
) -> list[Any]:
    """The targets of `run` and `fuzz` from their flags; emulators are entered into `stack`."""
    from remixcheck.conformance import runner, targets
    from remixcheck.contract import profiles as vendors
    from remixcheck.errors import UsageError

    config_flags = command == "run"  # fuzz takes one target, or the emulators
    if emulate_vendors and not emulate:
        raise UsageError(
            f"unexpected argument(s) {' '.join(emulate_vendors)}: vendor names go with --emulate"
        )
    if emulate and (base_url or vendor or config_path or target_names or api_key_env or video_id):
        others = "--config, --target, " if config_flags else ""
        raise UsageError(
            f"--emulate {'fuzzes' if command == 'fuzz' else 'runs'} the bundled emulators; it does not "
            f"combine with --base-url, --vendor, "
            f"{others}--api-key-env or --video-id"
        )
    if (faults or job_seconds != DEFAULT_JOB_SECONDS) and not emulate:
        raise UsageError("--fault and --job-seconds only apply with --emulate")
    if bool(base_url) != bool(vendor):
        raise UsageError("--base-url and --vendor go together")
    if target_name is not None and not base_url:
        raise UsageError("--name names a --base-url target; config targets have their own name")
    if target_name is not None and not target_name.strip():
        raise UsageError("--name must not be empty")
    if base_url and (config_path or target_names):
        raise UsageError("give either --base-url/--vendor or --config/--target, not both")
    if emulate:
        from remixcheck import emulator

        unknown = [f for f in faults if f.split(":", 1)[0] not in emulator.FAULTS]
        if unknown:
            raise UsageError(
                f"unknown fault(s) {', '.join(unknown)}; see `remixcheck serve --list-faults`"
            )
        chosen: list[targets.Target] = stack.enter_context(
            runner.emulated_targets(emulate_vendors, job_seconds=job_seconds, faults=faults)
        )
        for t in chosen:
            t.max_billable = max_billable  # None: unlimited, as on any loopback target
        return chosen
    if base_url and vendor:
        return [
            targets.make_target(
                name=target_name or vendors.load(vendor).id,
                vendor=vendor,
                base_url=base_url,
                api_key_env=api_key_env,
                video_id=video_id,
                max_billable=max_billable,
                require_key=require_key,
            )
        ]
    if not config_flags:
        raise UsageError("give --base-url and --vendor together, or --emulate [VENDOR...]")
    if video_id or api_key_env:
        raise UsageError(
            "--video-id and --api-key-env apply to --base-url targets; set video_id / api_key_env per target in the config"
        )
    return targets.targets_from_config(
        config_path,
        Path.cwd(),
        only=target_names,
        max_billable=max_billable,
        require_key=require_key,
    )


def _progress_bars() -> Any:
    """The live progress of run and fuzz: one bar per target, on stderr, kept only on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    )


def _run_with_progress(runner: Any, chosen: list[Any], options: Any) -> Any:
    total = len(runner.select(options.checks))
    with _progress_bars() as progress:
        tasks = {t.name: progress.add_task(f"{t.name:22}", total=total) for t in chosen}

        def advance(target: str, outcome: Any) -> None:
            progress.advance(tasks[target])
            if outcome.outcome.value in ("violation", "error", "precondition"):
                progress.console.print(
                    f"[{_OUTCOME_STYLE[outcome.outcome.value]}]{outcome.outcome.value}[/] {target} {outcome.check}"
                )

        return runner.run(chosen, options, advance)


def _print_plan(planned: list[Any], chosen: list[Any]) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="plan: requests this run would send (nothing was sent)")
    for col in ("target", "check", "request", "auth", "billing", "note"):
        table.add_column(col, overflow="fold")
    for p in planned:
        colour = {"billable": "red", "may-bill": "yellow"}.get(p.billing, "green")
        note = (
            f"[dim]skipped: {p.skipped}[/]"
            if p.skipped
            else "; ".join(x for x in (p.repeat, p.note) if x)
        )
        ctype = f" ({p.content_type.split(';')[0]})" if p.content_type else ""
        table.add_row(
            p.target,
            p.check,
            f"{p.method} {p.path}{ctype}",
            p.auth,
            f"[{colour}]{p.billing}[/]",
            note,
        )
    console.print(table)
    for t in chosen:
        mine = [p for p in planned if p.target == t.name and not p.skipped]
        paid = sum(1 for p in mine if p.billing != "free")
        cap = "unlimited (loopback)" if t.max_billable is None else str(t.max_billable)
        console.print(
            f"{t.name}: {len(mine)} requests planned, {paid} may start a paid job; --max-billable {cap}; key from ${t.api_key_env}"
        )


def _print_summary(data: dict[str, Any], console: Any) -> None:
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
                f"[{_OUTCOME_STYLE[cells[t['name']]]}]{cells[t['name']]}[/]"
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
            + ", ".join(f"[{_OUTCOME_STYLE[k]}]{v} {k}[/]" for k, v in counts.items() if v)
            + f"; {t['requests_sent']} requests, {t['billable_sent']} billable"
        )
        terminal.print_failures(console, t, strict=bool(data.get("strict")))


def _write_outputs(data: dict[str, Any], report_dir: Path) -> list[Path]:
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


@main.command()
@click.argument(
    "results_files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("reports/compat.html"),
    show_default=True,
)
def report(results_files: tuple[Path, ...], output: Path) -> None:
    """Render one or more results.json files into the HTML compatibility report."""
    from remixcheck.report.html import write_html
    from remixcheck.results.model import load_results

    data = [load_results(p) for p in results_files]
    click.echo(str(write_html(data, output)))


@main.command()
@click.argument("emulate_vendors", nargs=-1, metavar="[VENDOR...]")
@click.option(
    "--emulate",
    is_flag=True,
    help="Fuzz the bundled emulators on loopback (all four when no VENDOR is named).",
)
@click.option("--base-url", help="Base URL of the target (scheme and host).")
@_VENDOR
@_NAME
@click.option(
    "--api-key-env",
    help="Environment variable holding the key (default: the vendor's). Keys are never taken on the command line.",
)
@click.option(
    "--video-id",
    help="A completed video of the target: valid remixes go to it (without it, only to ids that do not exist).",
)
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Hard cap on requests sent to each target, retries included.",
)
@click.option(
    "--max-billable",
    type=click.IntRange(min=0),
    help="Cap on requests accepted as paid jobs. Default: 0 off loopback (no valid remix or create is sent), unlimited on loopback.",
)
@click.option(
    "--max-time",
    type=_Finite(min=0.1),
    default=600.0,
    show_default=True,
    help="Seconds for each target, enforced mid-request.",
)
@click.option("--rate", type=_Finite(min=0.01), help="Max requests per second.")
@click.option(
    "--seed", type=click.IntRange(min=0), help="Seed of the run (printed when not given)."
)
@_REPORT_DIR
@_STRICT
@_FORMAT
@click.option(
    "--unsafe",
    is_flag=True,
    help="Off loopback too: send undeclared HTTP methods and hostile ids on POST.",
)
@_CONNECT_TIMEOUT
@_READ_TIMEOUT
@_MAX_RETRY_WAIT
@_MAX_BODY_BYTES
@_FAULT
@_JOB_SECONDS
def fuzz(
    emulate_vendors: tuple[str, ...],
    emulate: bool,
    base_url: str | None,
    vendor: str | None,
    target_name: str | None,
    api_key_env: str | None,
    video_id: str | None,
    max_requests: int,
    max_billable: int | None,
    max_time: float | None,
    rate: float | None,
    seed: int | None,
    report_dir: Path,
    strict: bool,
    fmt: str,
    unsafe: bool,
    connect_timeout: float,
    read_timeout: float,
    max_retry_wait: float,
    max_body_bytes: int,
    faults: tuple[str, ...],
    job_seconds: float,
) -> None:
    """Fuzz a target with requests generated from the contract (schemathesis), on a budget.

    Every answer is judged by the validation core under the vendor profile, so documented
    deviations stay deviations. Adds fuzz.* checks to --report-dir/results.json (next to
    the catalogue results of the same target), junit.xml and compat.html, and keeps each
    failing case in --report-dir/fuzz-cases/ for `remixcheck replay`. Exit 0 when no fuzz
    check ends in violation or error and something was judged, 1 otherwise, 2 on usage or
    input errors, 130 when interrupted (SIGINT/SIGTERM stop it within a second or two).
    """
    import contextlib
    import logging
    import secrets

    from remixcheck.conformance import stopping
    from remixcheck.conformance.transport import TransportSettings
    from remixcheck.fuzzing import cases as fuzzcase
    from remixcheck.fuzzing import generate as fuzzing
    from remixcheck.results.model import check_report_dir, load_results

    if emulate:
        # The emulators log what they refuse (bad multipart headers, say) to stderr; fuzzing
        # sends exactly that on purpose, and the findings already say what came back.
        logging.getLogger().addHandler(logging.NullHandler())
    # Hypothesis caches its unicode tables on disk: in the user's cache, not the working directory.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "remixcheck"
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache / "hypothesis"))
    existing_path = report_dir / "results.json"
    existing = load_results(existing_path) if existing_path.is_file() else None
    options = fuzzing.FuzzOptions(
        max_requests=max_requests,
        max_time=max_time,
        seed=seed if seed is not None else secrets.randbelow(2**31),
        unsafe=unsafe,
        strict=strict,
        transport=TransportSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            rate=rate,
            max_retry_wait=max_retry_wait,
            max_body_bytes=max_body_bytes,
        ),
    )
    with contextlib.ExitStack() as stack:
        chosen = _choose_targets(
            stack,
            command="fuzz",
            emulate=emulate,
            emulate_vendors=emulate_vendors,
            base_url=base_url,
            vendor=vendor,
            target_name=target_name,
            api_key_env=api_key_env,
            video_id=video_id,
            max_billable=max_billable,
            faults=faults,
            job_seconds=job_seconds,
        )
        check_report_dir(report_dir)  # before any request: results must have somewhere to go
        with stopping.signals_stop():
            fuzzed = _fuzz_with_progress(fuzzing, chosen, options)
    data = fuzzed.public_dict()
    secrets_ = [t.api_key for t in chosen if t.api_key]
    emulator = {"faults": list(faults), "job_seconds": job_seconds} if emulate else None
    cases = _replace_cases(
        fuzzcase, report_dir / "fuzz-cases", fuzzed, secrets_, {t.name for t in chosen}, emulator
    )
    merged = fuzzcase.merge_results(existing, data)
    _finish(
        merged,
        report_dir,
        fmt,
        "remixcheck fuzz",
        lambda console: _print_fuzz_summary(data, cases, console),
    )
    _exit(fuzzed.result)


def _fuzz_with_progress(fuzzing: Any, chosen: list[Any], options: Any) -> Any:
    with _progress_bars() as progress:
        tasks = {
            t.name: progress.add_task(f"fuzz {t.name:22}", total=options.max_requests)
            for t in chosen
        }

        def advance(target: str, sent: int, cap: int) -> None:
            progress.update(tasks[target], completed=sent)

        return fuzzing.run(chosen, options, advance)


def _replace_cases(
    fuzzcase: Any,
    directory: Path,
    fuzzed: Any,
    secrets: list[str],
    names: set[str],
    emulator: dict[str, Any] | None,
) -> dict[str, list[Path]]:
    """Drop the kept cases of these targets from earlier runs, then write this run's."""
    from remixcheck.traffic import jsonsafe

    if directory.is_dir():
        for old in directory.glob("*.json"):
            try:
                target = jsonsafe.loads(old.read_bytes()).value.get("target")
            except (OSError, AttributeError):
                continue  # not one of ours: left alone
            if target in names:
                old.unlink()
    return {
        t.target.name: fuzzcase.write_cases(t.cases, directory, secrets, emulator)
        for t in fuzzed.targets
    }


def _print_fuzz_summary(data: dict[str, Any], cases: dict[str, list[Path]], console: Any) -> None:
    from rich.table import Table

    from remixcheck.report import terminal

    targets = data["targets"]
    table = Table(title="fuzz", show_lines=False)
    table.add_column("check", no_wrap=True)
    for t in targets:
        table.add_column(t["name"], overflow="fold")
    for i, check in enumerate(targets[0]["checks"] if targets else []):
        cells = []
        for t in targets:
            outcome = t["checks"][i]["outcome"]
            cells.append(f"[{_OUTCOME_STYLE[outcome]}]{outcome}[/]")
        table.add_row(check["check"], *cells)
    console.print(table)
    terminal.print_deviations(console, targets)
    for t in targets:
        meta = t["fuzz"]
        cap = "unlimited" if meta["max_billable"] is None else str(meta["max_billable"])
        console.print(
            f"[bold]{t['name']}[/] ({t['vendor']}, {t['base_url']}): "
            f"{meta['requests_sent']} requests ({meta['cases_sent']} cases), "
            f"{meta['billable_sent']} accepted as paid jobs (--max-billable {cap}); "
            f"seed {meta['seed']}; stopped: {meta['stop_reason']}",
            markup=True,
            highlight=False,
        )
        terminal.print_failures(console, t, strict=bool(data.get("strict")))
        for path in cases.get(t["name"], [])[:5]:
            console.print(f"    replay: remixcheck replay {path}", markup=False)


@main.command()
@click.argument("case_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--base-url",
    help="Send the case here. Needed for a case recorded off loopback: the file alone never decides where your key goes.",
)
@click.option(
    "--emulate",
    is_flag=True,
    help="Start the bundled emulator the case was found on (same dialect and faults) and replay against it.",
)
@click.option(
    "--vendor",
    help="Profile to judge with, a bundled name or a profile file (default: the case's, which must be bundled).",
)
@click.option(
    "--api-key-env",
    help="Environment variable holding the key (default: the vendor's, e.g. OPENAI_API_KEY; never one the case names).",
)
@click.option(
    "--max-billable",
    type=click.IntRange(min=0),
    help="1 allows replaying a case that could start a paid job on a non-loopback host.",
)
@click.option("--strict", is_flag=True, help="Count documented deviations as failures.")
@_READ_TIMEOUT
def replay(
    case_file: Path,
    base_url: str | None,
    emulate: bool,
    vendor: str | None,
    api_key_env: str | None,
    max_billable: int | None,
    strict: bool,
    read_timeout: float,
) -> None:
    """Send one saved fuzz case again and judge the answer.

    The case goes to the base URL it was recorded against only when that is loopback;
    anywhere else only with --base-url. Exit 0 when it now passes, 1 when it still fails,
    2 on usage or input errors (a malformed or tampered case file included).
    """
    import contextlib

    from remixcheck.conformance.targets import Target, make_target
    from remixcheck.conformance.transport import TransportSettings
    from remixcheck.contract.quoting import show, show_text
    from remixcheck.fuzzing import casefile
    from remixcheck.fuzzing import cases as fuzzcase
    from remixcheck.results.model import scrub

    if emulate and (base_url or api_key_env):
        raise click.UsageError("--emulate starts its own emulator: drop --base-url / --api-key-env")
    data = fuzzcase.load_case(case_file)
    profile = casefile.vendor(data, vendor, case_file)
    request = fuzzcase.FuzzRequest.from_dict(data["request"])
    name = casefile.target_name(data, profile)
    with contextlib.ExitStack() as stack:
        if emulate:
            from remixcheck.emulator import running_emulator

            faults, job_seconds = casefile.emulator_config(data, case_file)
            emu = stack.enter_context(
                running_emulator(profile, faults=faults, job_seconds=job_seconds)
            )
            target = Target(
                name=name,
                vendor=profile,
                base_url=emu.base_url,
                api_key_env="REMIXCHECK_EMULATOR_API_KEY",
                api_key=emu.api_key,
                emulated=True,
            )
        else:
            target = make_target(
                name=name,
                vendor=profile,
                base_url=casefile.destination(data, base_url, case_file),
                api_key_env=api_key_env,
                video_id=None,
                max_billable=max_billable,
                require_key=request.auth == "valid",
            )
        result = fuzzcase.replay(
            data, target, TransportSettings(read_timeout=read_timeout), strict=strict
        )
    request = result.judgement.request
    expectation = result.judgement.expectation
    lines = [
        f"case {result.case_id}: {show(request.description)}",
        f"  {request.method} {result.base_url}{show_text(request.path)} -> {result.judgement.status}"
        f" (expected: {expectation.why})",
        f"  cause: {expectation.cause}",
    ]
    for check, f in result.judgement.findings:
        if f.severity.value == "info" and not f.deviation:
            continue
        where = f.pointer or f.location
        dev = f" [documented: {f.deviation}]" if f.deviation else ""
        origin = _origin_text({"origin": f.origin, "origin_why": f.origin_why})
        lines.append(f"  {f.verdict.value} {check}: {where}: {f.message[:300]}{dev}{origin}")
    lines.append("still fails" if result.failing else "passes now")
    for line in scrub(lines, []):
        _console().print(line, markup=False, highlight=False)
    sys.exit(EXIT_FINDINGS if result.failing else EXIT_OK)

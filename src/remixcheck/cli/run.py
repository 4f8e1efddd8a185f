"""`remixcheck run`: the conformance catalogue against one or more targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from remixcheck.cli.choose import choose_targets
from remixcheck.cli.group import main, make_console
from remixcheck.cli.options import (
    CONNECT_TIMEOUT,
    FAULT,
    FORMAT,
    JOB_SECONDS,
    MAX_BODY_BYTES,
    MAX_RETRY_WAIT,
    NAME,
    READ_TIMEOUT,
    REPORT_DIR,
    STRICT,
    VENDOR,
    Finite,
)
from remixcheck.cli.output import (
    OUTCOME_STYLE,
    existing_results,
    exit_for,
    finish,
    print_summary,
    progress_bars,
)


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
@VENDOR
@NAME
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
@REPORT_DIR
@STRICT
@FORMAT
@click.option(
    "--client-impact/--no-client-impact",
    default=True,
    show_default=True,
    help="After the checks, judge every Video body with real client libraries (client_impact).",
)
@CONNECT_TIMEOUT
@READ_TIMEOUT
@click.option(
    "--max-time",
    type=Finite(min=0.1),
    help="Seconds for each target, enforced mid-request. Default: --poll-timeout + 10 x --timeout.",
)
@click.option(
    "--poll-timeout",
    type=Finite(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to poll a job before giving up.",
)
@click.option(
    "--poll-interval",
    type=Finite(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between polls when the server sends no openai-poll-after-ms.",
)
@click.option("--rate", type=Finite(min=0.01), help="Max requests per second per target.")
@MAX_RETRY_WAIT
@MAX_BODY_BYTES
@FAULT
@JOB_SECONDS
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
    client_impact: bool,
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
        client_impact=client_impact,
    )
    runner.select(
        options.checks
    )  # a pattern that matches nothing is a usage error, before any work
    with contextlib.ExitStack() as stack:
        chosen = choose_targets(
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

    merged = merge_catalogue(existing_results(report_dir), data)
    finish(merged, report_dir, fmt, "remixcheck run", lambda console: print_summary(data, console))
    exit_for(result)


def _run_with_progress(runner: Any, chosen: list[Any], options: Any) -> Any:
    total = len(runner.select(options.checks))
    with progress_bars() as progress:
        tasks = {t.name: progress.add_task(f"{t.name:22}", total=total) for t in chosen}

        def advance(target: str, outcome: Any) -> None:
            progress.advance(tasks[target])
            if outcome.outcome.value in ("violation", "error", "precondition"):
                progress.console.print(
                    f"[{OUTCOME_STYLE[outcome.outcome.value]}]{outcome.outcome.value}[/] {target} {outcome.check}"
                )

        return runner.run(chosen, options, advance)


def _print_plan(planned: list[Any], chosen: list[Any]) -> None:
    from rich.table import Table

    console = make_console()
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

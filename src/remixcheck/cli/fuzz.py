"""`remixcheck fuzz`: requests generated from the contract, judged, saved as case files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from remixcheck.cli.choose import choose_targets
from remixcheck.cli.group import main
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
    jobs_option,
)
from remixcheck.cli.output import OUTCOME_STYLE, exit_for, finish, progress_bars
from remixcheck.fuzzing.phases import DEFAULT_PHASES, parse_phases

MAX_WORKERS = 32


class PhasesType(click.ParamType[tuple[str, ...]]):
    """`edge,fuzzing` -> ("edge", "fuzzing"); an unknown name is a usage error that lists them."""

    name = "PHASES"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_phases(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@main.command()
@click.argument("emulate_vendors", nargs=-1, metavar="[VENDOR...]")
@click.option(
    "--emulate",
    is_flag=True,
    help="Fuzz the bundled emulators on loopback (all four when no VENDOR is named).",
)
@click.option("--base-url", help="Base URL of the target (scheme and host).")
@VENDOR
@NAME
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
    type=Finite(min=0.1),
    default=600.0,
    show_default=True,
    help="Seconds for each target, enforced mid-request.",
)
@click.option("--rate", type=Finite(min=0.01), help="Max requests per second.")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=MAX_WORKERS),
    default=1,
    show_default=True,
    help="Requests in flight at once, each worker on its own connection; --max-requests and "
    "--max-billable hold across them, and a job's requests stay in order. Above 1, a seed no "
    "longer replays the exact same run.",
)
@jobs_option(
    "Processes drawing the fuzzing phase's cases ahead of sending (0 or auto: one per CPU). "
    "Generation, not the server, bounds a run on loopback; the requests are the same."
)
@click.option(
    "--phases",
    type=PhasesType(),
    default=",".join(DEFAULT_PHASES),
    show_default=True,
    help="What generates the requests, comma-separated: edge (remixcheck's remix edge cases), "
    "coverage (schemathesis's coverage phase), fuzzing (schemathesis's Hypothesis generation), "
    "run in that order, each until done or the budget is spent.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="Seed of the run (printed when not given)."
)
@REPORT_DIR
@STRICT
@FORMAT
@click.option(
    "--unsafe",
    is_flag=True,
    help="Off loopback too: send undeclared HTTP methods and hostile ids on POST.",
)
@CONNECT_TIMEOUT
@READ_TIMEOUT
@MAX_RETRY_WAIT
@MAX_BODY_BYTES
@FAULT
@JOB_SECONDS
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
    workers: int,
    jobs: int,
    phases: tuple[str, ...],
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
    from remixcheck.fuzzing import fuzzer as fuzzing
    from remixcheck.fuzzing import records
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
        phases=phases,
        workers=workers,
        jobs=jobs,
        cache_dir=cache / "fuzz",
        transport=TransportSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            rate=rate,
            max_retry_wait=max_retry_wait,
            max_body_bytes=max_body_bytes,
        ),
    )
    with contextlib.ExitStack() as stack:
        chosen = choose_targets(
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
        records, report_dir / "fuzz-cases", fuzzed, secrets_, {t.name for t in chosen}, emulator
    )
    merged = records.merge_results(existing, data)
    finish(
        merged,
        report_dir,
        fmt,
        "remixcheck fuzz",
        lambda console: _print_fuzz_summary(data, cases, console),
    )
    exit_for(fuzzed.result)


def _fuzz_with_progress(fuzzing: Any, chosen: list[Any], options: Any) -> Any:
    with progress_bars() as progress:
        tasks = {
            t.name: progress.add_task(f"fuzz {t.name:22}", total=options.max_requests)
            for t in chosen
        }

        def advance(target: str, sent: int, cap: int) -> None:
            progress.update(tasks[target], completed=sent)

        return fuzzing.run(chosen, options, advance)


def _replace_cases(
    records: Any,
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
        t.target.name: records.write_cases(t.cases, directory, secrets, emulator)
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
            cells.append(f"[{OUTCOME_STYLE[outcome]}]{outcome}[/]")
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

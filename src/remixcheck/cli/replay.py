"""`remixcheck replay`: one saved fuzz case sent again and judged."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from remixcheck.cli.group import EXIT_FINDINGS, EXIT_OK, main, make_console
from remixcheck.cli.options import READ_TIMEOUT
from remixcheck.cli.output import origin_text


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
@READ_TIMEOUT
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
    from remixcheck.fuzzing.cases import FuzzRequest
    from remixcheck.fuzzing.records import load_case
    from remixcheck.fuzzing.replay import replay as replay_case
    from remixcheck.results.model import scrub

    if emulate and (base_url or api_key_env):
        raise click.UsageError("--emulate starts its own emulator: drop --base-url / --api-key-env")
    data = load_case(case_file)
    profile = casefile.vendor(data, vendor, case_file)
    request = FuzzRequest.from_dict(data["request"])
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
        result = replay_case(
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
        origin = origin_text({"origin": f.origin, "origin_why": f.origin_why})
        lines.append(f"  {f.verdict.value} {check}: {where}: {f.message[:300]}{dev}{origin}")
    lines.append("still fails" if result.failing else "passes now")
    for line in scrub(lines, []):
        make_console().print(line, markup=False, highlight=False)
    sys.exit(EXIT_FINDINGS if result.failing else EXIT_OK)

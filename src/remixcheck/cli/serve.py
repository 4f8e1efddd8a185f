"""`remixcheck serve`: one vendor emulator in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from remixcheck.cli.group import main
from remixcheck.cli.options import Finite
from remixcheck.cli.output import describe
from remixcheck.errors import UsageError


@main.command()
@click.option(
    "--vendor", help="Vendor dialect to emulate (required unless --list-faults or --cassette)."
)
@click.option(
    "--cassette",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Serve this recording (JSON lines, e.g. from `remixcheck proxy --record`) instead of an emulator.",
)
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
    type=Finite(0, 3600),
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
    cassette: Path | None,
    host: str,
    port: int,
    api_key: str | None,
    job_seconds: float,
    faults: tuple[str, ...],
    list_faults: bool,
) -> None:
    """Run one vendor emulator (a reference server of that dialect), or replay a recording.

    With --cassette, requests are matched on method, path and body and answered as
    recorded, job ids and all; repeated requests (polls) get the recorded answers in order.
    """
    from remixcheck import emulator
    from remixcheck.conformance import keys
    from remixcheck.contract import profiles as vendors

    if list_faults:
        for name, description in emulator.FAULTS.items():
            click.echo(f"{name:28} {describe(description)}")
        return
    if cassette is not None:
        if vendor or faults:
            raise UsageError("--cassette replays a recording: it takes no --vendor or --fault")
        _serve_cassette(cassette, host, port)
        return
    if vendor is None:
        raise click.UsageError("Missing option '--vendor' (or --list-faults, or --cassette FILE).")
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


def _serve_cassette(path: Path, host: str, port: int) -> None:
    from remixcheck.proxy.cassette import serve_cassette

    def ready(base_url: str, cassette: Any) -> None:
        click.echo(f"remixcheck cassette {path} on {base_url}")
        click.echo(f"  {cassette.exchanges} recorded exchanges; any API key is accepted")

    def miss(message: str) -> None:
        click.echo(message, err=True)

    serve_cassette(path, host=host, port=port, on_ready=ready, on_miss=miss)

"""`remixcheck proxy`: a client's traffic forwarded unchanged and judged on the way."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from remixcheck.cli.group import EXIT_FINDINGS, EXIT_OK, main
from remixcheck.cli.options import CONNECT_TIMEOUT, MAX_BODY_BYTES, READ_TIMEOUT, REPORT_DIR, STRICT
from remixcheck.cli.output import write_outputs


@main.command()
@click.option(
    "--upstream", required=True, help="Base URL of the real API, e.g. https://api.openai.com."
)
@click.option("--vendor", required=True, help="Vendor profile name, or a path to a profile .yaml.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535))
@REPORT_DIR
@click.option(
    "--record",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the judged exchanges here, redacted, as JSON lines (for `validate` and `serve --cassette`).",
)
@click.option("--name", help="Name of the target in the reports (default: <vendor>-proxy).")
@STRICT
@CONNECT_TIMEOUT
@READ_TIMEOUT
@MAX_BODY_BYTES
def proxy(
    upstream: str,
    vendor: str,
    host: str,
    port: int,
    report_dir: Path,
    record: Path | None,
    name: str | None,
    strict: bool,
    connect_timeout: float,
    read_timeout: float,
    max_body_bytes: int,
) -> None:
    """Forward a client's traffic to --upstream unchanged and judge every exchange on the way.

    Point the client's base URL at the proxy (base_url=http://127.0.0.1:8100/v1). The
    upstream's answers go back unchanged; judging happens after they have left. One line
    per exchange with findings is printed as it goes. On Ctrl-C or SIGTERM it writes
    results.json, junit.xml and compat.html under --report-dir. Exit 0 when nothing
    violated the contract, 1 on violations (or requests the upstream left unanswered),
    2 on usage errors.
    """
    import logging

    from remixcheck import proxy as proxying
    from remixcheck.conformance.transport import TransportSettings
    from remixcheck.results.model import check_report_dir

    # aiohttp logs what it refuses (a malformed request line, say) with tracebacks; the proxy's
    # own lines already say what matters, and nothing a client sent is echoed to the terminal.
    logging.getLogger("aiohttp").addHandler(logging.NullHandler())
    logging.getLogger("aiohttp").propagate = False
    check_report_dir(report_dir)
    config = proxying.ProxyConfig(
        upstream=upstream,
        vendor=vendor,
        host=host,
        port=port,
        name=name,
        record=record,
        strict=strict,
        transport=TransportSettings(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_body_bytes=max_body_bytes,
        ),
    )

    def ready(base_url: str, running: Any) -> None:
        profile = running.session.profile
        click.echo(f"remixcheck proxy on {base_url} -> {running.upstream} ({profile.id})")
        click.echo(f"  point the client's base URL at {base_url}{profile.base_paths[0]}")
        if record is not None:
            click.echo(f"  recording to {record}")
        click.echo("  Ctrl-C or SIGTERM stops it and writes the reports")

    def line(found: Any) -> None:
        click.echo(found.text)

    session = proxying.serve(config, on_ready=ready, on_line=line)
    data = session.public_dict()
    counts = data["targets"][0]["proxy"]
    outcomes = data["targets"][0]["counts"]
    click.echo(
        f"{counts['exchanges']} exchanges ({counts['judged']} judged, {counts['errors']} without a "
        f"judged answer); checks: " + ", ".join(f"{v} {k}" for k, v in outcomes.items() if v)
    )
    if record is not None:
        click.echo(f"recorded {counts['recorded']} exchanges to {record}")
    written = write_outputs(data, report_dir)
    click.echo("wrote " + ", ".join(str(p) for p in written))
    sys.exit(EXIT_FINDINGS if session.failing() else EXIT_OK)

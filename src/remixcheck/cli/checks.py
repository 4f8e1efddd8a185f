"""`remixcheck checks`: the conformance catalogue."""

from __future__ import annotations

import click

from remixcheck.cli.group import main, make_console


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
    make_console().print(table)

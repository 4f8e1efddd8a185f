"""`remixcheck spec`: the path of the bundled contract."""

from __future__ import annotations

import click

from remixcheck.cli.group import main


@main.command()
def spec() -> None:
    """Print the path of the bundled canonical contract (OpenAPI 3.1 YAML)."""
    from remixcheck.contract import resources

    click.echo(str(resources.spec_path()))

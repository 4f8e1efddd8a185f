"""`remixcheck report`: results.json files rendered into the HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from remixcheck.cli.group import main


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

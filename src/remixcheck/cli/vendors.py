"""`remixcheck vendors`: the bundled vendor profiles and their documented deviations."""

from __future__ import annotations

from remixcheck.cli.group import main, make_console


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
    console = make_console()
    console.print(table)
    for line in notices:
        console.print(line, markup=False, highlight=False)

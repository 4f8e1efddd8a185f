"""The `remixcheck` command group: exit codes, the tool's errors as one line on stderr, the console."""

from __future__ import annotations

import os
from typing import Any

import click

from remixcheck.__about__ import __version__
from remixcheck.errors import RemixcheckError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Group(click.Group):
    """Turns the tool's own exceptions into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RemixcheckError as exc:
            error_line(str(exc))
            ctx.exit(EXIT_USAGE)
        except click.UsageError as exc:  # a bad flag value: one line too, not click's three
            where = exc.ctx.command_path if exc.ctx is not None else "remixcheck"
            error_line(f"{exc.format_message()} (see `{where} --help`)")
            ctx.exit(EXIT_USAGE)
        except click.ClickException as exc:
            error_line(exc.format_message())
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
            error_line(
                f"internal error: {type(exc).__name__}: {exc} "
                "(a remixcheck bug: please report it; REMIXCHECK_TRACEBACK=1 shows where)"
            )
            ctx.exit(EXIT_USAGE)


def error_line(message: str) -> None:
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


def make_console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # logs and CI: wide enough that check ids do not wrap
    return console

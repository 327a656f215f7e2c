"""The Typer application every command module registers on."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click import exceptions as click  # the click vendored by typer
from typer.core import TyperGroup

# The panels of `embedlab --help`, in the order of an embedding's life; a command not named
# here still shows, under "More".
PANELS = {
    "Start here": ["demo"],
    "Train": ["train", "finetune", "distill"],
    "Embed and store": ["embed", "index", "db", "convert"],
    "Search": ["search", "similar", "analogy"],
    "Judge": ["evaluate", "eval", "bias"],
    "Look": ["plot", "plot-analogy"],
    "Apply": ["cluster", "duplicates", "outliers", "classify", "recommend", "align"],
    "Serve": ["serve"],
}


class _OneLineErrors(TyperGroup):
    """The root group: a usage error (unknown option, bad value, missing argument) is one
    ``error: ...`` line on stderr and exit code 2, like every other user error."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in the order of PANELS (an embedding's life), so the help reads in it."""
        order = [*PANELS, "More"]

        def rank(name: str) -> int:
            panel = getattr(self.commands[name], "rich_help_panel", None) or "More"
            return order.index(panel) if panel in order else len(order)

        return sorted(super().list_commands(ctx), key=rank)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from embedlab.cli._common import EXIT_USER_ERROR, print_error

        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.NoArgsIsHelpError as exc:  # bare `embedlab db`: the help
            exc.show()
            code = EXIT_USER_ERROR
        except click.UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            print_error(exc.format_message() + where)
            code = EXIT_USER_ERROR
        except click.ClickException as exc:
            print_error(exc.format_message())
            code = exc.exit_code
        except typer.Abort:
            print_error("aborted")
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="embedlab",
    cls=_OneLineErrors,
    help=(
        "The whole life of vector embeddings: train word vectors, embed and store texts, "
        "search them, judge, look at, apply and serve them. Commands are grouped below; "
        "`embedlab COMMAND --help` tells more, and `embedlab demo` shows them at work."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
)


def _show_version(value: bool) -> None:
    if value:
        from embedlab import __version__

        typer.echo(f"embedlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="Log what the library does on stderr (-v: steps, -vv: details).",
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress bars, summaries or warnings; results and errors only.",
    ),
) -> None:
    """Options every command shares (they go before the command: `embedlab -v index ...`)."""
    import logging

    from embedlab._log import show_on_stderr
    from embedlab._progress import stderr_console
    from embedlab.cli._common import err_console

    if verbose and quiet:
        raise typer.BadParameter("-v and -q contradict each other; pass one of them")
    if verbose:
        show_on_stderr(logging.INFO if verbose == 1 else logging.DEBUG)
    if quiet:
        err_console.quiet = True
        stderr_console().quiet = True

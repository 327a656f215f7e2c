"""The Typer application every command module registers on."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click import exceptions as click  # the click vendored by typer
from typer.core import TyperGroup


class _OneLineErrors(TyperGroup):
    """The root group: a usage error (unknown option, bad value, missing argument) is one
    ``error: ...`` line on stderr and exit code 2, like every other user error."""

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
    help="Train, query and evaluate embeddings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

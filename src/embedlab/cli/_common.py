"""What every command shares: JSON output, one-line user errors, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from embedlab.errors import EmbedlabError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

console = Console(stderr=False)
err_console = Console(stderr=True)

JsonOption = typer.Option(False, "--json", help="Print one JSON document on stdout, nothing else.")


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (the --json contract)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=_default) + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and return the exit for a user error."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USER_ERROR)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn embedlab's typed errors and file errors into one line and exit code 2."""
    try:
        yield
    except EmbedlabError as exc:
        raise fail(str(exc)) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise fail(f"{exc.strerror or exc}: {exc.filename}") from None
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Decorator: run a command body inside user_errors()."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with user_errors():
            func(*args, **kwargs)

    return wrapper

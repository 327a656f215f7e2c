"""What every command shares: JSON output, one-line user errors, exit codes.

The contract: a user error (a typed embedlab error, a file that cannot be read or written,
a request larger than memory) is one ``error: ...`` line on stderr, the last and only
thing printed there, and exit code 2; never a traceback. Warnings raised while a command
runs are printed after it succeeds (one ``warning: ...`` line each) and dropped when it
fails, so an error line always stands alone.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from embedlab.errors import MAX_MESSAGE, EmbedlabError, shorten

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

console = Console(stderr=False)
err_console = Console(stderr=True)  # summaries and warnings: silenced by `embedlab -q`
status_console = Console(stderr=True)  # errors and "interrupted": never silenced by -q

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


def print_error(message: str) -> None:
    """Print ``error: message`` as one line on stderr (long echoed inputs cut short)."""
    line = " ".join(shorten(message, 2 * MAX_MESSAGE).splitlines())  # typed errors: cut already
    text = Text.assemble(("error:", "bold red"), " ", line)
    status_console.print(text, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and return the exit for a user error."""
    print_error(message)
    return typer.Exit(EXIT_USER_ERROR)


def describe_error(exc: BaseException) -> str | None:
    """The one-line message for an error that is the user's to fix, or None for a bug."""
    if isinstance(exc, EmbedlabError):
        return str(exc)
    if isinstance(exc, OSError):  # a path that cannot be read or written, a full disk, ...
        reason = exc.strerror or str(exc) or type(exc).__name__
        target = f": {exc.filename}" if exc.filename is not None else ""
        return f"{reason}{target}"
    if isinstance(exc, MemoryError):
        return "not enough memory for this request (try smaller sizes)"
    if isinstance(exc, UnicodeError):
        return f"text that cannot be encoded or decoded: {exc}"
    return None


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user errors into one line and exit code 2; warnings wait until success."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            yield
        except KeyboardInterrupt:
            status_console.print("interrupted", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            message = describe_error(exc)
            if message is None:
                raise
            raise fail(message) from None
    for warning in caught:
        err_console.print(
            f"warning: {warning.message}", highlight=False, markup=False, soft_wrap=True
        )


def command(func: Callable[..., None]) -> Callable[..., None]:
    """Decorator: run a command body inside user_errors()."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with user_errors():
            func(*args, **kwargs)

    return wrapper

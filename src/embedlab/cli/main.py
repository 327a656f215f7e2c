"""Entry point: `embedlab` assembles the command groups."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="embedlab",
    help="Train, query and evaluate embeddings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Each module adds its commands to `app`; imported here so that `embedlab --help` lists them.
    from embedlab.cli import demo, query, train  # noqa: F401


def main() -> None:
    """Run the CLI (console script `embedlab`)."""
    _register()
    app()


if __name__ == "__main__":
    main()

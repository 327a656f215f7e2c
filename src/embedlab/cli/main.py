"""Entry point: `embedlab` (and `python -m embedlab`) assembles the command groups."""

from __future__ import annotations

from embedlab.cli.app import PANELS, app


def main() -> None:
    """Run the CLI (console script `embedlab`)."""
    # Each module adds its commands to `app` when imported.
    from embedlab.cli import (  # noqa: F401
        analysis,
        bias,
        db,
        demo,
        evaluation,
        finetune,
        ingest,
        query,
        search,
        serve,
        train,
        viz,
    )

    _group_commands()
    app()


def _group_commands() -> None:
    """Put each command and command group in its panel of the top-level help."""
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else "")
        info.rich_help_panel = panel_of.get(name, "More")
    for group in app.registered_groups:
        label = group.name or (group.typer_instance.info.name if group.typer_instance else None)
        group.rich_help_panel = panel_of.get(str(label), "More")


if __name__ == "__main__":
    main()

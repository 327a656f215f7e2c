"""Entry point: `embedlab` (and `python -m embedlab`) assembles the command groups."""

from __future__ import annotations

from embedlab.cli.app import app


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

    app()


if __name__ == "__main__":
    main()

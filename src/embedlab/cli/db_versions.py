"""`embedlab db reembed | versions | drop-version`: changing a collection's model without
downtime (library: ``ingest/reembed.py``, ``store/versions.py``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import typer
from rich.progress import Progress
from rich.table import Table

from embedlab.cli._common import (
    EXIT_INTERRUPTED,
    JsonOption,
    command,
    console,
    emit_json,
    err_console,
    status_console,
)
from embedlab.cli.db import DbOption, NameArgument, _open, db_app

__all__: list[str] = []

_STAGES = {"encode": "re-embedding", "catch-up": "catching up", "switch": "switching"}


@db_app.command("reembed")
@command
def reembed(
    name: str = NameArgument,
    model: str = typer.Option(..., "--model", help="The new model (an encoder spec)."),
    batch_size: int = typer.Option(256, "--batch-size", help="Rows read and written at once."),
    ray: bool = typer.Option(False, "--ray", help="Encode on Ray workers."),
    address: str | None = typer.Option(
        None, "--address", envvar="RAY_ADDRESS", help="A Ray cluster to join (implies --ray)."
    ),
    workers: int | None = typer.Option(None, "--workers", help="Ray actors (implies --ray)."),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Re-encode a collection's documents with a new model into a new version, then switch
    to it at once; queries are answered by the old version until then, and the old one is
    kept (as NAME@vN) until `db drop-version`. Run it again to resume an interrupted run."""
    from embedlab.ingest.reembed import reembed as run

    executor = "ray" if ray or address is not None or workers is not None else "local"
    shown = not json_output and err_console.is_terminal
    bar = Progress(
        *Progress.get_default_columns(), console=err_console, disable=not shown, transient=True
    )
    tasks: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

    with _open(db) as database:
        try:
            with bar:
                report = run(
                    database,
                    name,
                    model,
                    batch_size=batch_size,
                    progress=progress,
                    executor=executor,
                    ray_address=address,
                    workers=workers,
                )
        except KeyboardInterrupt:
            status_console.print(
                f"interrupted: {name!r} still answers with its old model; the rows re-embedded "
                "so far are kept, and the same command resumes"
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if json_output:
        emit_json(report.to_dict())
        return
    console.print(
        f"[green]re-embedded[/] [bold]{name}[/] with {report.model} (version {report.version}, "
        f"{report.rows:,} rows: {report.encoded:,} encoded, {report.kept:,} kept from an "
        f"earlier run, {report.passes} pass(es), {report.seconds:.1f} s); the old version "
        f"({report.previous_model}) is kept as [bold]{report.retired_as}[/]",
        highlight=False,
    )


@db_app.command("versions")
@command
def versions(name: str = NameArgument, db: str = DbOption, json_output: bool = JsonOption) -> None:
    """A collection's versions: the live one, staged and retired ones, with their models."""
    from embedlab.store.versions import list_versions

    with _open(db) as database:
        found = list_versions(database, name)
    if json_output:
        emit_json({"collection": name, "versions": [dataclasses.asdict(v) for v in found]})
        return
    table = Table(title=f"versions of {name}", title_justify="left")
    for column in ("version", "state", "stored as", "model", "from model", "count", "created"):
        table.add_column(column, justify="right" if column in ("version", "count") else "left")
    for v in found:
        created = datetime.fromtimestamp(v.created).isoformat(timespec="seconds")
        table.add_row(
            str(v.version),
            v.state,
            v.collection,
            v.model or "",
            v.previous_model or "",
            f"{v.count:,}",
            created,
        )
    console.print(table)


@db_app.command("drop-version")
@command
def drop_version(
    name: str = NameArgument,
    version: int = typer.Argument(..., help="The version to delete (not the live one)."),
    db: str = DbOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete a retired (or staged) version of a collection."""
    from embedlab.store.versions import drop_version as drop

    with _open(db) as database:
        dropped = drop(database, name, version)
    if json_output:
        emit_json({"collection": name, "version": version, "dropped": dropped})
        return
    console.print(f"[green]dropped[/] version {version} of [bold]{name}[/] ({dropped})")

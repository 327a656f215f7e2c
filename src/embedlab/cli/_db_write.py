"""How `embedlab db add` and `db import-vectors` write a row source: every row checked
first, then written in batches, with an exact account of what a stopped write stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress

from embedlab.cli._common import (
    EXIT_INTERRUPTED,
    console,
    emit_json,
    err_console,
    fail,
    status_console,
)
from embedlab.errors import DuplicateIdError, EmbedlabError

if TYPE_CHECKING:
    from embedlab.store import Collection
    from embedlab.store._readers import RowStream

__all__ = ["report_write", "write_rows"]


def write_rows(
    col: Collection,
    stream: Callable[[], RowStream],
    *,
    upsert: bool,
    progress: bool,
    model: str | None = None,
) -> tuple[int, int]:
    """Check every row first, then add (or upsert) every batch; return (rows written, rows
    that replaced stored ones).

    The first pass reads the whole source and checks what the store would refuse (format,
    dimensions, finite values, metadata, ids repeated in the file or, without --upsert,
    already stored), so a refused import writes nothing. Were a write still to fail (or
    Ctrl-C), the message says exactly how many rows were stored and replaced.
    """
    try:
        total, replacing = _check_rows(col, stream(), upsert=upsert)
    except KeyboardInterrupt:
        status_console.print("interrupted while checking the rows; nothing was stored")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    write = col.upsert if upsert else col.add
    done = replaced_done = 0
    before = col.count()
    shown = progress and err_console.is_terminal
    bar = Progress(
        *Progress.get_default_columns(), console=err_console, disable=not shown, transient=True
    )
    try:
        with bar:
            task = bar.add_task("adding" if not upsert else "upserting", total=total)
            for batch in stream().batches:
                stored = _stored(col, batch.ids) if upsert else 0
                write(batch.ids, batch.vectors, batch.metadata, batch.documents, model=model)
                done += len(batch.ids)
                replaced_done += stored
                bar.update(task, completed=done)
    except KeyboardInterrupt:
        if not upsert:  # exact even when Ctrl-C came between a batch's COMMIT and the count
            done = col.count() - before
        status_console.print(
            f"interrupted: {_partial(done, total, replaced_done)}", highlight=False
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except EmbedlabError as exc:
        if not done:
            raise
        raise fail(f"{exc} ({_partial(done, total, replaced_done)})") from None
    return done, max(replacing, replaced_done)


def _partial(done: int, total: int, replaced: int) -> str:
    """What a write stopped part-way left stored."""
    if not done:
        return "nothing was stored"
    text = f"{done:,} of {total:,} rows were stored"
    if replaced:
        text += f", {replaced:,} of them replacing rows stored before"
    return text + "; rerun with --upsert to finish"


def _check_rows(col: Collection, stream: RowStream, *, upsert: bool) -> tuple[int, int]:
    """Read every batch and check it as the store will; return (rows, rows already stored)."""
    from embedlab.store import _inputs

    seen: set[str] = set()
    rows = stored = 0
    for batch in stream.batches:
        _inputs.check_ids(batch.ids)
        repeated = seen.intersection(batch.ids)
        if repeated:
            raise DuplicateIdError(
                f"the source repeats {len(repeated)} id(s): {_inputs.show_values(sorted(repeated))}"
            )
        seen.update(batch.ids)
        _inputs.check_vectors(col.spec, batch.vectors, len(batch.ids))
        _inputs.check_metadata_list(batch.metadata, len(batch.ids))
        _inputs.check_documents(batch.documents, len(batch.ids))
        already = _stored(col, batch.ids)
        if already and not upsert:
            found = col.get(batch.ids, include=[]).ids
            raise DuplicateIdError(
                f"{already} id(s) are already stored: {_inputs.show_values(found)} "
                "(use --upsert to replace them)"
            )
        rows += len(batch.ids)
        stored += already
    return rows, stored


def _stored(col: Collection, ids: list[str]) -> int:
    """How many of ids the collection holds."""
    return len(col.get(ids, include=[]))


def report_write(
    col: Collection, written: tuple[int, int], *, upsert: bool, json_output: bool
) -> None:
    (rows, replaced), count = written, col.count()
    if json_output:
        document = {"collection": col.name, "written": rows, "upsert": upsert, "count": count}
        emit_json(document | ({"replaced": replaced} if upsert else {}))
        return
    verb = "upserted" if upsert else "added"
    again = f", {replaced:,} of them replacing stored rows" if upsert else ""
    console.print(
        f"[green]{verb}[/] {rows:,} rows to [bold]{col.name}[/]{again} ({count:,} in all)"
    )

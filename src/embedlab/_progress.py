"""Progress reporting: plain event dataclasses, and a rich renderer for terminals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from embedlab.text.encode import ScanProgress

__all__ = ["EpochProgress", "ProgressCallback", "rich_training_progress"]


@dataclass(frozen=True)
class EpochProgress:
    """Where training stands: words processed (raw corpus words) and the running loss."""

    epoch: int
    epochs: int
    words_done: int
    words_total: int
    words_per_second: float
    loss: float


ProgressCallback = Callable[[ScanProgress | EpochProgress], None]


@contextmanager
def rich_training_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    """Yield a callback that draws a scan bar and a training bar with words/s and loss."""
    progress = Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console or Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(event: ScanProgress | EpochProgress) -> None:
        if isinstance(event, ScanProgress):
            if "scan" not in tasks:
                tasks["scan"] = progress.add_task("scanning", total=event.total_bytes, detail="")
            progress.update(
                tasks["scan"], completed=event.bytes_read, detail=f"{event.words:,} words"
            )
            return
        if "scan" in tasks and "train" not in tasks:
            total = progress.tasks[tasks["scan"]].total
            progress.update(tasks["scan"], completed=total)
        if "train" not in tasks:
            tasks["train"] = progress.add_task("training", total=event.words_total, detail="")
        progress.update(
            tasks["train"],
            completed=event.words_done,
            detail=(
                f"epoch {event.epoch + 1}/{event.epochs} · {event.words_per_second:,.0f} words/s"
                f" · loss {event.loss:.4f}"
            ),
        )

    with progress:
        yield update

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

__all__ = [
    "CooccurrenceProgress",
    "EpochProgress",
    "GloVeEpochProgress",
    "ProgressCallback",
    "TrainingEvent",
    "rich_training_progress",
]


@dataclass(frozen=True)
class EpochProgress:
    """Where training stands: words processed (raw corpus words) and the running loss."""

    epoch: int
    epochs: int
    words_done: int
    words_total: int
    words_per_second: float
    loss: float


@dataclass(frozen=True)
class CooccurrenceProgress:
    """Where GloVe's co-occurrence counting stands: corpus words windowed, runs spilled."""

    words_done: int
    words_total: int
    spills: int


@dataclass(frozen=True)
class GloVeEpochProgress:
    """Where GloVe training stands: pairs processed and the running cost of this epoch."""

    epoch: int
    epochs: int
    pairs_done: int
    pairs_total: int
    pairs_per_second: float
    cost: float


_STDERR: Console | None = None


def stderr_console() -> Console:
    """The console every progress bar draws on: stderr, so stdout stays for results.

    ``embedlab -q`` silences it (``stderr_console().quiet = True``); errors do not use it.
    """
    global _STDERR
    if _STDERR is None:
        _STDERR = Console(stderr=True)
    return _STDERR


TrainingEvent = ScanProgress | EpochProgress | CooccurrenceProgress | GloVeEpochProgress
ProgressCallback = Callable[[TrainingEvent], None]
"""What trainers call with their progress events (any of TrainingEvent)."""


@contextmanager
def rich_training_progress(
    console: Console | None = None,
) -> Iterator[ProgressCallback]:
    """Yield a callback that draws a scan bar and a training bar with words/s and loss.

    GloVe's events add a counting bar, and the training bar shows pairs/s and the cost.
    """
    out = console or stderr_console()
    progress = Progress(
        TextColumn("[bold]{task.description:<8}"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=out,
        transient=False,
        disable=not out.is_terminal,  # bars only on a terminal, never in a log
    )

    tasks: dict[str, TaskID] = {}

    def update(event: TrainingEvent) -> None:
        if isinstance(event, CooccurrenceProgress | GloVeEpochProgress):
            _glove_update(progress, tasks, event)
            return
        if isinstance(event, ScanProgress):
            if "scan" not in tasks:
                tasks["scan"] = progress.add_task("scanning", total=event.total_bytes, detail="")
            progress.update(
                tasks["scan"], completed=event.bytes_read, detail=f"{event.words:,} words"
            )
            return
        _finish(progress, tasks, "scan")
        _training(
            progress,
            tasks,
            event.words_done,
            event.words_total,
            f"epoch {event.epoch + 1}/{event.epochs} · {event.words_per_second:,.0f} words/s"
            f" · loss {event.loss:.4f}",
        )

    with progress:
        try:
            yield update
        except BaseException:
            progress.live.transient = True  # an error line stands alone: clear the bars
            raise


def _training(
    progress: Progress, tasks: dict[str, TaskID], done: int, total: int, detail: str
) -> None:
    """Create the training bar on first use, then move it to done."""
    if "train" not in tasks:
        tasks["train"] = progress.add_task("training", total=total, detail="")
    progress.update(tasks["train"], completed=done, detail=detail)


def _finish(progress: Progress, tasks: dict[str, TaskID], name: str) -> None:
    if name in tasks:
        progress.update(tasks[name], completed=progress.tasks[tasks[name]].total)


def _glove_update(
    progress: Progress, tasks: dict[str, TaskID], event: CooccurrenceProgress | GloVeEpochProgress
) -> None:
    """Draw GloVe's counting bar (words, spills) and training bar (pairs/s, cost)."""
    _finish(progress, tasks, "scan")
    if isinstance(event, CooccurrenceProgress):
        if "count" not in tasks:
            tasks["count"] = progress.add_task("counting", total=event.words_total, detail="")
        spilled = f" · {event.spills} spills" if event.spills else ""
        detail = f"{event.words_done:,} words{spilled}"
        progress.update(tasks["count"], completed=event.words_done, detail=detail)
        return
    _finish(progress, tasks, "count")
    _training(
        progress,
        tasks,
        event.pairs_done,
        event.pairs_total,
        f"epoch {event.epoch + 1}/{event.epochs} · {event.pairs_per_second:,.0f} pairs/s"
        f" · cost {event.cost:.4f}",
    )

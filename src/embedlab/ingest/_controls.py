"""What a long ingestion shows and hears: the files/chunks progress bars (rich, on stderr)
and a first Ctrl-C that asks the run to stop after the batch in progress."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["Bar", "interrupts", "progress_bars"]


@contextmanager
def interrupts() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (the second raises KeyboardInterrupt as usual).

    Only the main thread can catch signals; elsewhere the event is never set.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class Bar:
    """Files and chunks bars on stderr (rich), or nothing."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.files: TaskID | None = None
        self.chunks: TaskID | None = None
        self.total_chunks = 0
        self.seen = 0

    def start(self, files: int) -> None:
        if self.progress is not None:
            self.files = self.progress.add_task("files", total=files)
            self.chunks = self.progress.add_task("chunks", total=0)

    def file_done(self, queued: int) -> None:
        if self.progress is None or self.files is None or self.chunks is None:
            return
        self.progress.advance(self.files)
        self.total_chunks = max(self.total_chunks, self.seen + queued)
        self.progress.update(self.chunks, total=self.total_chunks)

    def chunks_done(self, count: int) -> None:
        self.seen += count
        if self.progress is not None and self.chunks is not None:
            self.progress.update(self.chunks, completed=self.seen)


@contextmanager
def progress_bars(show: bool) -> Iterator[Bar]:
    """A live two-bar display while the block runs (when ``show``)."""
    if not show:
        yield Bar(None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from embedlab._progress import stderr_console

    progress = Progress(
        TextColumn("[bold]{task.description:<7}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
    )
    with progress:
        yield Bar(progress)

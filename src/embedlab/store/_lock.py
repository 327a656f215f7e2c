"""The database's write lock: one writer at a time across processes (``filelock``).

The lock is the file ``write.lock`` in the database folder, taken with the operating
system's own file lock through ``filelock`` (``fcntl.flock`` on POSIX, ``msvcrt`` on
Windows), so it is released when its holder exits, however it exits. The holder writes its
pid to ``write.pid`` next to it (a separate file, since Windows does not let others read a
locked file). The lock is re-entrant within a process (a counter), and taking it waits up
to a timeout, then raises :class:`~embedlab.errors.StoreLockedError` naming the holder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from embedlab.errors import StoreLockedError

__all__ = ["WriteLock"]

_POLL_SECONDS = 0.005


class WriteLock:
    """An exclusive, re-entrant, inter-process lock on ``path``."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.pid_path = path.with_name("write.pid")
        self.timeout = timeout
        self._file = FileLock(path, thread_local=False, is_singleton=False, preserve_lock_file=True)
        self._depth = 0
        self._thread_lock = threading.RLock()

    @contextmanager
    def hold(self, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for the body of a ``with`` block."""
        with self._thread_lock:
            if self._depth == 0:
                self._acquire(self.timeout if timeout is None else timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._file.release()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._depth > 0

    def _acquire(self, timeout: float) -> None:
        try:
            self._file.acquire(timeout=timeout, poll_interval=_POLL_SECONDS)
        except Timeout:
            holder = _read_pid(self.pid_path)
            who = f"process {holder}" if holder else "another process"
            raise StoreLockedError(
                f"the database {self.path.parent} is being written by {who}; "
                f"waited {timeout:g} s for its write lock"
            ) from None
        # The pid only makes the message better; a read-only folder never writes.
        with suppress(OSError):
            self.pid_path.write_text(str(os.getpid()))


def _read_pid(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()[:32]
    except OSError:
        return ""

"""The database's write lock: one writer at a time across processes (``fcntl.flock``).

The lock is a file in the database folder holding the writer's pid. It is re-entrant
within a process (a counter), and taking it waits up to a timeout, then raises
:class:`~embedlab.errors.StoreLockedError` naming the holder.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedlab.errors import StoreLockedError

__all__ = ["WriteLock"]

_POLL_SECONDS = 0.005


class WriteLock:
    """An exclusive, re-entrant, inter-process lock on ``path``."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None
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
                    self._release()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._depth > 0

    def _acquire(self, timeout: float) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    who = f"process {holder}" if holder else "another process"
                    raise StoreLockedError(
                        f"the database {self.path.parent} is being written by {who}; "
                        f"waited {timeout:g} s for its write lock"
                    ) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def _release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""

"""A cheap look at whether anything was committed to a WAL-mode SQLite file since last time.

``PRAGMA data_version`` answers that exactly, but every call begins a read transaction,
which takes and drops a read lock on the ``-shm`` file (system calls) and runs a statement:
a tenth of a small query's time, asked before every query. SQLite tells whether the database
changed since a reader last looked the same way this module does: every commit rewrites
the wal-index header, the first 48 bytes of the ``-shm`` file (its change counter, last
frame and checksums among them), and a reader compares it with the copy it kept (see
"WAL-mode File Format" in SQLite's documentation). A :class:`WalWatch` reads those bytes
from a read-only memory map; only when they differ is the pragma asked again.

A commit is complete only once its header is written, so a header equal to the one read
before the last pragma means no commit has returned since. A read that races a commit
in progress sees bytes that differ (the pragma is asked) or the old header (that commit
has not returned yet). The map covers the first page only, which SQLite never truncates
while a connection (ours) has the file open.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

__all__ = ["WalWatch"]

HEADER_BYTES = 48  # one copy of the wal-index header (WalIndexHdr)
_MIN_SIZE = 136  # two header copies and the checkpoint information


class WalWatch:
    """The wal-index header of one database file, read without a system call.

    Example:
        >>> watch = WalWatch.open(Path("embedlab.sqlite"))  # doctest: +SKIP
        >>> watch.header() == watch.header()  # doctest: +SKIP
        True
    """

    def __init__(self, mapped: mmap.mmap) -> None:
        self._map = mapped

    @classmethod
    def open(cls, database: Path) -> WalWatch | None:
        """A watch on ``database``'s ``-shm`` file; None when there is none to watch (not
        in WAL mode, opened as immutable, or a file system without shared memory)."""
        try:
            fd = os.open(f"{database}-shm", os.O_RDONLY)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_size < _MIN_SIZE:
                return None
            return cls(mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ))
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)  # the map keeps its own reference

    def header(self) -> bytes:
        """The first copy of the wal-index header as it is now."""
        return self._map[:HEADER_BYTES]

    def close(self) -> None:
        self._map.close()

"""The background indexer: adds rows to ANN indexes after their writes are acknowledged.

A write returns once SQLite has committed it and the in-memory view holds it; building the
graph (the slow part of an HNSW insert) happens here, on another thread, in small chunks
under each view's ``index_lock``. faiss releases the GIL while it adds, so on two cores the
next batch is being validated and committed while the previous one is indexed. Searches
scan the rows not indexed yet exactly, so nothing waits for this thread to be correct;
``Collection.wait_for_index`` and ``Database.close`` wait for it to finish.
"""

from __future__ import annotations

import threading
import warnings

from embedlab.store._state import CollectionState

__all__ = ["Indexer"]

# Rows per index addition: short enough that a query waiting on the lock is not held long.
CHUNK = 512


class Indexer:
    """One daemon thread per database that drains every view's pending rows."""

    def __init__(self) -> None:
        self._queue: dict[int, CollectionState] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, state: CollectionState) -> None:
        """Ask for ``state``'s pending rows to be indexed (returns at once)."""
        with self._wake:
            if self._closed:
                state.index_pending()
                return
            self._queue[id(state)] = state
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="embedlab-indexer", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        """Stop the thread after its current chunk (pending rows stay pending)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                _, state = self._queue.popitem()
            try:
                while not state.retired and not self._closed and state.index_pending(CHUNK):
                    pass
            except Exception as exc:  # the rows stay found by the exact scan
                warnings.warn(
                    f"background indexing of collection {state.spec.name!r} stopped: {exc}",
                    RuntimeWarning,
                    stacklevel=1,
                )

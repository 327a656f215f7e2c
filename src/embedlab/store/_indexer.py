"""The background indexer: adds rows to ANN indexes after their writes are acknowledged.

A write returns once SQLite has committed it and the in-memory view holds it; building the
graph (the slow part of an HNSW insert) happens here, on another thread, in small chunks
under each view's ``index_lock``. faiss releases the GIL while it adds, so on two cores the
next batch is being validated and committed while the previous one is indexed. Searches
scan the rows not indexed yet exactly, so nothing waits for this thread to be correct;
``Collection.wait_for_index`` and ``Database.close`` wait for it to finish.

Sharing the cores with queries: faiss cannot search a graph while it grows, so every chunk
added holds queries up. While queries are arriving (one in the last ``QUIET`` seconds) the
thread waits for a pause, up to ``MAX_DEFER``, then adds a small chunk with one OpenMP
thread, leaving the other cores to the queries; with no queries about it adds larger
chunks with every core. Writers keep the backlog short themselves (``MAX_BACKLOG``), so
the exact scan of the rows not indexed yet stays cheap. After each chunk it calibrates the
search breadth when the index has grown by half (see ``_calibrate``).
"""

from __future__ import annotations

import threading
import warnings

from embedlab.store._state import CollectionState
from embedlab.store.index._faiss import faiss

__all__ = ["CHUNK", "MAX_BACKLOG", "Indexer"]

# Rows per index addition with no queries about, and while queries arrive.
CHUNK = 512
BUSY_CHUNK = 32
QUIET = 0.002  # seconds since the last query before the indexer takes the lock freely
MAX_DEFER = 0.2  # but it never waits longer than this for a pause
# A write returns with at most this many of its collection's rows not yet indexed (the
# writer indexes the excess itself), so queries right after it scan few rows exactly.
MAX_BACKLOG = 2048


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
        cores = max(1, int(faiss.omp_get_max_threads()))  # OpenMP threads are per thread
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                _, state = self._queue.popitem()
            try:
                while not state.retired and not self._closed:
                    busy = state.wait_for_pause(QUIET, MAX_DEFER)
                    faiss.omp_set_num_threads(max(1, cores - 1) if busy else cores)
                    if not state.index_pending(BUSY_CHUNK if busy else CHUNK):
                        break
                    state.calibrate_if_due()
                if not state.retired and not self._closed:
                    state.calibrate_if_due()
            except Exception as exc:  # the rows stay found by the exact scan
                warnings.warn(
                    f"background indexing of collection {state.spec.name!r} stopped: {exc}",
                    RuntimeWarning,
                    stacklevel=1,
                )

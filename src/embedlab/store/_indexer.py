"""The background indexer: adds rows to ANN indexes after their writes are acknowledged.

A write returns once SQLite has committed it and the in-memory view holds it; building the
graph (the slow part of an HNSW insert) happens here, on another thread, in small chunks
under each view's ``index_lock``. faiss releases the GIL while it adds, so on two cores the
next batch is being validated and committed while the previous one is indexed. Searches
scan the rows not indexed yet exactly, so nothing waits for this thread to be correct;
``Collection.wait_for_index`` and ``Database.close`` wait for it to finish.

Sharing the cores with queries: faiss cannot search a graph while it grows, so every chunk
added holds queries up. While queries are arriving (one in the last ``QUIET`` seconds) the
thread leaves the rows to the exact scan until the scans have cost the queries as much
time as indexing the rows would (a rent-or-buy rule: the queries never lose more than
twice the cheaper of the two); then it adds small chunks with one OpenMP thread fewer,
letting a query in between chunks, for as long as the scans keep paying for them. With no
queries about it adds larger chunks with every core (at most ``QUIET_HOLD`` seconds each,
at the measured cost per row, so that a query arriving then does not wait long). Writers
keep the backlog short themselves (``MAX_BACKLOG``), so the exact scan stays cheap. Once a
view is caught up it calibrates the search breadth when the index has grown by half
(see ``_calibrate``).
"""

from __future__ import annotations

import threading
import time
import warnings

from embedlab.store._state import CollectionState
from embedlab.store.index._faiss import faiss

__all__ = ["CHUNK", "MAX_BACKLOG", "Indexer", "quiet_chunk"]

# Rows per index addition with no queries about, and while queries arrive.
CHUNK = 512
BUSY_CHUNK = 32
# With no queries about, a chunk is also kept to about this long (at the measured cost per
# row): the query that comes next, e.g. right after the last write, waits for it.
QUIET_HOLD = 0.02
QUIET = 0.005  # seconds since the last query before the indexer takes the lock freely
POLL = 0.005  # how often a thread that leaves the rows to the scans looks again
_DONE, _WORKED, _DEFERRED, _FAILED = object(), object(), object(), object()
# A write returns with at most this many of its collection's rows not yet indexed (the
# writer indexes the excess itself), so queries right after it scan few rows exactly.
MAX_BACKLOG = 2048


def quiet_chunk(state: CollectionState) -> int:
    """Rows to add at once with no queries about: ``CHUNK``, or fewer if they would hold
    the index longer than ``QUIET_HOLD`` (never fewer than ``BUSY_CHUNK``)."""
    return max(BUSY_CHUNK, min(CHUNK, int(QUIET_HOLD / max(state.seconds_per_row, 1e-9))))


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
                states = list(self._queue.values())
            deferred = True
            for state in states:
                outcome = self._step(state, cores)
                deferred = deferred and outcome is _DEFERRED
                if outcome is _DONE or outcome is _FAILED:
                    with self._wake:  # a writer appends before it requests: none is lost
                        if outcome is _FAILED or state.retired or not state.pending:
                            self._queue.pop(id(state), None)
            if deferred:  # every view leaves its rows to the scans for now
                with self._wake:
                    self._wake.wait(POLL)

    def _step(self, state: CollectionState, cores: int) -> object:
        """One chunk of ``state``'s pending rows (or its calibration when caught up)."""
        if state.retired or self._closed:
            return _DONE
        try:
            if not state.pending:
                state.calibrate_if_due()
                return _DONE
            busy = state.queried_within(QUIET)
            if busy and not state.scans_paid():
                return _DEFERRED
            faiss.omp_set_num_threads(max(1, cores - 1) if busy else cores)
            state.index_pending(BUSY_CHUNK if busy else quiet_chunk(state))
            if busy:
                time.sleep(QUIET / 2)  # locks are not fair: let the waiting query in
            else:
                state.calibrate_if_due()
            return _WORKED
        except Exception as exc:  # the rows stay found by the exact scan
            warnings.warn(
                f"background indexing of collection {state.spec.name!r} stopped: {exc}",
                RuntimeWarning,
                stacklevel=1,
            )
            return _FAILED

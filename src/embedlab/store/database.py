"""The embedded vector database: a folder holding one SQLite file and one index file per
collection.

Layout::

    my.db/
      embedlab.sqlite          collections, rows (vectors, metadata, documents), sequence numbers
      embedlab.sqlite-wal      SQLite's write-ahead log
      indexes/<id>.index       each collection's ANN index, stamped with the sequence it applied
      write.lock               the one-writer-at-a-time lock (holds the writer's pid)
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
import weakref
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from embedlab._validation import check_float, check_int
from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    EmbedlabError,
    InvalidParameterError,
    StoreIOError,
    StoreLockedError,
    StoreReadOnlyError,
)
from embedlab.metrics import Metric
from embedlab.store._calibrate import check_index_params
from embedlab.store._indexer import Indexer
from embedlab.store._inputs import check_name
from embedlab.store._lock import WriteLock
from embedlab.store._state import build_state, load_state
from embedlab.store._storage import Storage
from embedlab.store.collection import Collection
from embedlab.store.index import INDEX_KINDS
from embedlab.store.results import CollectionInfo

__all__ = ["Database"]

_MAX_DIM = 65_536
_CLOSE_LOCK_SECONDS = 2.0
# Every database's indexer, stopped before the interpreter exits. Indexers, not databases:
# a database dropped without close() is collected while its indexer thread still runs.
_INDEXERS: weakref.WeakSet[Indexer] = weakref.WeakSet()


class Database:
    """An embedded vector database in a folder (created if missing).

    Any number of processes may open the same folder; one writes at a time (others wait
    up to ``lock_timeout`` seconds, then get :class:`~embedlab.errors.StoreLockedError`),
    and every reader sees each committed write. With ``background_indexing`` (the
    default) a write returns once committed and a background thread adds its rows to the
    ANN index; queries scan the rows not indexed yet exactly, so they are found at once.

    Example:
        >>> import numpy as np, tempfile, embedlab
        >>> with embedlab.Database(tempfile.mkdtemp()) as db:
        ...     col = db.create_collection("words", dim=2, metric="euclidean", index="flat")
        ...     col.add(ids=["x", "y"], vectors=[[0, 0], [3, 4]])
        ...     float(col.query([0, 0], k=2).distances[1])
        5.0
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        lock_timeout: float = 10.0,
        background_indexing: bool = True,
    ) -> None:
        if not isinstance(path, str | PathLike) or not str(path):
            raise InvalidParameterError(
                f"a database path must be a non-empty str or os.PathLike; got {path!r}"
            )
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise InvalidParameterError(
                f"a database is a folder; {str(folder)!r} exists and is not a folder"
            )
        timeout = check_float("lock_timeout", lock_timeout, minimum=0.0)
        _make_folder(folder)
        indexes = folder / "indexes"
        was_database = (folder / "write.lock").exists() or (
            indexes.is_dir() and any(indexes.glob("*.index"))
        )
        self.path = folder
        self._lock = threading.RLock()
        self._write_lock = WriteLock(folder / "write.lock", timeout=timeout)
        self._storage = Storage(folder, was_database=was_database)
        self.read_only = self._storage.read_only
        if not self.read_only:
            _make_folder(indexes)
            _remove_stale_temp_files(indexes)
        self._open = True
        self._collections: dict[int, Collection] = {}
        self._dropped: set[int] = set()
        self._indexer = Indexer() if background_indexing else None
        if self._indexer is not None:
            _INDEXERS.add(self._indexer)

    # -- collections ------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        *,
        dim: int | None = None,
        metric: str = "cosine",
        index: str = "hnsw",
        index_params: Mapping[str, float] | None = None,
        model: str | None = None,
    ) -> Collection:
        """A new, empty collection; its name, dimension, metric, index and model are fixed.

        ``index`` is one of ``flat``, ``hnsw``, ``ivf``, ``ivf-pq``, ``binary`` (hamming);
        ``index_params`` sets that kind's parameters (``M``, ``ef_construction``,
        ``ef_search``; ``nlist``, ``nprobe``; ``m``, ``nbits``, ``refine``) and, for the
        approximate kinds, ``recall``: a recall@10 target (default 0.98) that the search
        breadth (``ef_search`` / ``nprobe``) is calibrated to on the collection's own rows,
        again each time it grows by half; setting ``ef_search`` / ``nprobe`` without ``recall``
        fixes the breadth instead. ``info().calibration`` shows what was measured.
        Without ``dim`` (Chroma's form) the first add fixes it (``store/_pending.py``).
        """
        if dim is None:
            from embedlab.store._pending import PendingCollection

            settings = {"metric": metric, "index": index, "index_params": index_params}
            return PendingCollection.create(self, name, **settings, model=model)
        name = check_name(name)
        dim = check_int("dim", dim, minimum=1, maximum=_MAX_DIM)
        parsed_metric = Metric.parse(metric, name="metric")
        kind = _index_kind(index)
        cls = INDEX_KINDS[kind]
        if parsed_metric not in cls.metrics:
            valid = ", ".join(sorted(m.value for m in cls.metrics))
            raise InvalidParameterError(
                f"index {kind!r} does not support the {parsed_metric.value!r} metric; "
                f"it supports {valid}"
            )
        if parsed_metric is Metric.HAMMING and dim % 8:
            raise InvalidParameterError(
                f"a hamming collection needs a dimension (in bits) that is a multiple of 8; "
                f"got {dim}"
            )
        params = check_index_params(kind, index_params, dim)
        if model is not None and (not isinstance(model, str) or not model):
            raise InvalidParameterError(f"model must be a non-empty str or None; got {model!r}")
        self._check_open(write=True)
        with self._lock, self._write_lock.hold():
            self._check_open()
            with self._storage.write():
                if self._storage.collection(name) is not None:
                    raise CollectionExistsError(
                        f"collection {name!r} already exists; use get_collection() or "
                        "get_or_create_collection()"
                    )
                self._storage.insert_collection(
                    name,
                    dim=dim,
                    metric=parsed_metric.value,
                    index_kind=kind,
                    index_params=params,
                    model=model,
                )
                row = self._storage.collection(name)
                if row is None:  # pragma: no cover - just inserted
                    raise RuntimeError("collection insert failed")
                state = build_state(self._storage, row, self._index_path(row.id))
                try:
                    state.save()
                except OSError as exc:  # rolls the creation back
                    raise StoreIOError(
                        f"could not write the index file {state.index_path}: {exc.strerror or exc}"
                    ) from None
            collection = Collection(self, state)
            self._collections[row.id] = collection
            return collection

    def get_collection(self, name: str) -> Collection:
        """An existing collection (its index loaded, and rebuilt if its file is unusable)."""
        with self._lock:
            self._check_open()
            with self._storage.read():
                row = self._storage.collection(name) if isinstance(name, str) else None
                if row is None:
                    names = [c.name for c in self._storage.collections()]
                    raise CollectionNotFoundError(str(name), names)
                cached = self._collections.get(row.id)
                if cached is not None:
                    return cached
                state = load_state(self._storage, row, self._index_path(row.id))
            collection = Collection(self, state)
            self._collections[row.id] = collection
            if state.stale_file and not self.read_only:
                self._save_now(collection)
            return collection

    def _save_now(self, collection: Collection) -> None:
        """Save a rebuilt or caught-up index file at once (so its warning comes once), if
        the write lock is free; otherwise a later write or close saves it."""
        try:
            with self._write_lock.hold(timeout=0.0):
                _save_quietly(collection)
        except (StoreLockedError, OSError):
            pass

    def get_or_create_collection(
        self,
        name: str,
        *,
        dim: int | None = None,
        metric: str = "cosine",
        index: str = "hnsw",
        index_params: Mapping[str, float] | None = None,
        model: str | None = None,
    ) -> Collection:
        """The named collection if it exists (its settings must agree), else a new one."""
        with self._lock:
            try:
                collection = self.get_collection(name)
            except CollectionNotFoundError:
                return self.create_collection(
                    name,
                    dim=dim,
                    metric=metric,
                    index=index,
                    index_params=index_params,
                    model=model,
                )
            kind = _index_kind(index)
            wanted: dict[str, Any] = {
                "dim": collection.dim
                if dim is None
                else check_int("dim", dim, minimum=1, maximum=_MAX_DIM),
                "metric": Metric.parse(metric, name="metric").value,
                "index": kind,
                "model": collection.model if dim is None and model is None else model,
            }
            if index_params is not None and kind == collection.index:
                wanted["index_params"] = check_index_params(kind, index_params, wanted["dim"])
            for setting, value in wanted.items():
                have = getattr(collection, setting)
                if have != value:
                    raise InvalidParameterError(
                        f"collection {name!r} exists with {setting}={have!r}; "
                        f"asked for {setting}={value!r}"
                    )
            return collection

    def list_collections(self) -> list[CollectionInfo]:
        """Every collection's settings and live row count, by name."""
        with self._lock:
            self._check_open()
            with self._storage.read():
                return [
                    CollectionInfo(
                        name=row.name,
                        dim=row.dim,
                        metric=row.metric,
                        index=row.index_kind,
                        index_params=row.index_params,
                        model=row.model,
                        count=self._storage.count(row.id),
                        created=row.created,
                    )
                    for row in self._storage.collections()
                ]

    def delete_collection(self, name: str) -> None:
        """Remove a collection, its rows and its index file."""
        self._check_open(write=True)
        with self._lock, self._write_lock.hold():
            self._check_open()
            with self._storage.write():
                row = self._storage.collection(name) if isinstance(name, str) else None
                if row is None:
                    names = [c.name for c in self._storage.collections()]
                    raise CollectionNotFoundError(str(name), names)
                self._storage.delete_collection(row.id)
            self._dropped.add(row.id)
            dropped = self._collections.pop(row.id, None)
            if dropped is not None:
                dropped._state.retired = True
            self._index_path(row.id).unlink(missing_ok=True)

    # -- life -------------------------------------------------------------------------
    def close(self) -> None:
        """Save index files with unsaved changes (if the write lock is free) and close."""
        with self._lock:
            if not self._open:
                return
            if self._indexer is not None:
                self._indexer.close()
            dirty = [c for c in self._collections.values() if c._state.unsaved or c.pending]
            if dirty and not self.read_only:
                try:
                    with self._write_lock.hold(timeout=_CLOSE_LOCK_SECONDS):
                        for collection in dirty:
                            _save_quietly(collection)
                except StoreLockedError:
                    pass  # another writer holds it; the next open replays from SQLite
            self._collections.clear()
            self._storage.close()
            self._open = False

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def _check_open(self, *, write: bool = False) -> None:
        if not self._open:
            raise InvalidParameterError(f"the database {str(self.path)!r} is closed")
        if write and self.read_only:
            raise StoreReadOnlyError(
                f"the database {str(self.path)!r} was opened read-only (its folder cannot "
                "be written); it cannot be changed"
            )

    def _index_path(self, collection_id: int) -> Path:
        return self.path / "indexes" / f"{collection_id}.index"


def _index_kind(index: object) -> str:
    if isinstance(index, str) and index.strip().lower().replace("_", "-") in INDEX_KINDS:
        return index.strip().lower().replace("_", "-")
    valid = ", ".join(repr(k) for k in sorted(INDEX_KINDS))
    raise InvalidParameterError(f"The 'index' parameter must be one of {valid}. Got {index!r}.")


def _make_folder(folder: Path) -> None:
    """Create a folder (and its parents) or raise a typed error saying why it can't be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameterError(
            f"cannot create the database folder {str(folder)!r}: a part of its path is a file"
        ) from None
    except PermissionError as exc:
        raise StoreReadOnlyError(
            f"cannot create the database folder {str(folder)!r}: {exc.strerror}"
        ) from None
    except OSError as exc:
        raise StoreIOError(
            f"cannot create the database folder {str(folder)!r}: {exc.strerror}"
        ) from None


def _remove_stale_temp_files(indexes: Path) -> None:
    """Delete ``.<name>.<pid>.tmp`` files left by index saves whose process is gone."""
    for tmp in indexes.glob(".*.tmp"):
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _alive(pid):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours
        return True
    return True


@atexit.register
def _stop_indexers() -> None:
    """Stop the background indexer threads of databases left open at exit.

    A daemon thread still inside faiss while the interpreter tears down aborts the process;
    pending rows stay in SQLite and are indexed again on the next open.
    """
    for indexer in list(_INDEXERS):
        indexer.close()


def _save_quietly(collection: Collection) -> None:
    """Catch up and save one collection's index file; a failure only warns (it is derived)."""
    try:
        state = collection._current()
        state.index_pending()
        state.save()
    except (OSError, EmbedlabError) as exc:
        warnings.warn(
            f"could not save the index of collection {collection.name!r}: {exc}",
            RuntimeWarning,
            stacklevel=3,
        )

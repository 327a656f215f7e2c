"""The embedded backend: a folder holding one SQLite file and one index file per collection.

Layout::

    my.db/
      embedlab.sqlite          collections, rows (vectors, metadata, documents), sequence numbers
      embedlab.sqlite-wal      SQLite's write-ahead log
      indexes/<id>.index       each collection's ANN index, stamped with the sequence it applied
      write.lock, write.pid    the one-writer-at-a-time lock and its holder's pid
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    EmbedlabError,
    InvalidParameterError,
    StoreIOError,
    StoreLockedError,
    StoreReadOnlyError,
)
from embedlab.store._indexer import Indexer
from embedlab.store._loading import build_state, load_state
from embedlab.store._lock import WriteLock
from embedlab.store._storage import Storage
from embedlab.store.backend.embedded import versions
from embedlab.store.backend.embedded.collection import EmbeddedCollection
from embedlab.store.results import CollectionInfo

__all__ = ["EmbeddedDatabase"]

_CLOSE_LOCK_SECONDS = 2.0
# Every database's indexer, stopped before the interpreter exits. Indexers, not databases:
# a database dropped without close() is collected while its indexer thread still runs.
_INDEXERS: weakref.WeakSet[Indexer] = weakref.WeakSet()


class EmbeddedDatabase:
    """SQLite + faiss in a folder (created if missing); see :class:`embedlab.store.Database`."""

    def __init__(self, folder: Path, *, lock_timeout: float, background_indexing: bool) -> None:
        if folder.exists() and not folder.is_dir():
            raise InvalidParameterError(
                f"a database is a folder; {str(folder)!r} exists and is not a folder"
            )
        _make_folder(folder)
        indexes = folder / "indexes"
        was_database = (folder / "write.lock").exists() or (
            indexes.is_dir() and any(indexes.glob("*.index"))
        )
        self.path = folder
        self.lock = threading.RLock()
        self.write_lock = WriteLock(folder / "write.lock", timeout=lock_timeout)
        self.storage = Storage(folder, was_database=was_database)
        self.read_only = self.storage.read_only
        if not self.read_only:
            _make_folder(indexes)
            _remove_stale_temp_files(indexes)
        self._open = True
        self._collections: dict[int, EmbeddedCollection] = {}
        self.dropped: set[int] = set()
        self.indexer = Indexer() if background_indexing else None
        if self.indexer is not None:
            _INDEXERS.add(self.indexer)

    # -- collections ------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str,
        kind: str,
        params: dict[str, float],
        model: str | None,
    ) -> EmbeddedCollection:
        self.check_open(write=True)
        with self.lock, self.write_lock.hold():
            self.check_open()
            with self.storage.write():
                if self.storage.collection(name) is not None:
                    raise CollectionExistsError(
                        f"collection {name!r} already exists; use get_collection() or "
                        "get_or_create_collection()"
                    )
                self.storage.insert_collection(
                    name,
                    dim=dim,
                    metric=metric,
                    index_kind=kind,
                    index_params=params,
                    model=model,
                )
                row = self.storage.collection(name)
                if row is None:  # pragma: no cover - just inserted
                    raise RuntimeError("collection insert failed")
                state = build_state(self.storage, row, self._index_path(row.id))
                try:
                    state.save()
                except OSError as exc:  # rolls the creation back
                    raise StoreIOError(
                        f"could not write the index file {state.index_path}: {exc.strerror or exc}"
                    ) from None
            collection = EmbeddedCollection(self, state)
            self._collections[row.id] = collection
            return collection

    def get_collection(self, name: str) -> EmbeddedCollection:
        with self.lock:
            self.check_open()
            with self.storage.read():
                row = self.storage.collection(name) if isinstance(name, str) else None
                if row is None:
                    names = [c.name for c in self.storage.collections()]
                    raise CollectionNotFoundError(str(name), names)
                cached = self._collections.get(row.id)
                if cached is not None:
                    if cached.name != row.name:  # renamed by another handle or process
                        cached.renamed(row.name)
                    return cached
                state = load_state(self.storage, row, self._index_path(row.id))
            collection = EmbeddedCollection(self, state)
            self._collections[row.id] = collection
            if state.stale_file and not self.read_only:
                self._save_now(collection)
            return collection

    def _save_now(self, collection: EmbeddedCollection) -> None:
        """Save a rebuilt or caught-up index file at once (so its warning comes once), if
        the write lock is free; otherwise a later write or close saves it."""
        try:
            with self.write_lock.hold(timeout=0.0):
                _save_quietly(collection)
        except (StoreLockedError, OSError):
            pass

    def list_collections(self) -> list[CollectionInfo]:
        with self.lock:
            self.check_open()
            with self.storage.read():
                return [
                    CollectionInfo(
                        name=row.name,
                        dim=row.dim,
                        metric=row.metric,
                        index=row.index_kind,
                        index_params=row.index_params,
                        model=row.model,
                        count=self.storage.count(row.id),
                        created=row.created,
                    )
                    for row in self.storage.collections()
                ]

    def delete_collection(self, name: str) -> None:
        self.check_open(write=True)
        with self.lock, self.write_lock.hold():
            self.check_open()
            with self.storage.write():
                row = self.storage.collection(name) if isinstance(name, str) else None
                if row is None:
                    names = [c.name for c in self.storage.collections()]
                    raise CollectionNotFoundError(str(name), names)
                self.storage.delete_collection(row.id)
            self.dropped.add(row.id)
            dropped = self._collections.pop(row.id, None)
            if dropped is not None:
                dropped.retire()
            self._index_path(row.id).unlink(missing_ok=True)

    def rename_collection(self, name: str, new_name: str) -> None:
        """One UPDATE of the collection's row: its rows, index file (``indexes/<id>.index``)
        and keyword index are keyed by its id, so there is no file to move and a crash
        leaves either the old name or the new one."""
        self.check_open(write=True)
        with self.lock, self.write_lock.hold():
            self.check_open()
            with self.storage.write():
                row = self.storage.collection(name)
                if row is None:
                    names = [c.name for c in self.storage.collections()]
                    raise CollectionNotFoundError(name, names)
                if new_name == name:
                    return
                if self.storage.collection(new_name) is not None:
                    raise CollectionExistsError(
                        f"cannot rename collection {name!r} to {new_name!r}: a collection "
                        f"called {new_name!r} already exists"
                    )
                self.storage.rename_collection(row.id, new_name)
            cached = self._collections.get(row.id)
            if cached is not None:
                cached.renamed(new_name)

    # -- life -------------------------------------------------------------------------
    def close(self) -> None:
        """Save index files with unsaved changes (if the write lock is free) and close."""
        with self.lock:
            if not self._open:
                return
            if self.indexer is not None:
                self.indexer.close()
            dirty = [c for c in self._collections.values() if c.state.unsaved or c.pending]
            if dirty and not self.read_only:
                try:
                    with self.write_lock.hold(timeout=_CLOSE_LOCK_SECONDS):
                        for collection in dirty:
                            _save_quietly(collection)
                except StoreLockedError:
                    pass  # another writer holds it; the next open replays from SQLite
            self._collections.clear()
            self.storage.close()
            self._open = False

    def check_open(self, *, write: bool = False) -> None:
        """Raise if the database is closed (or, for a write, opened read-only)."""
        if not self._open:
            raise InvalidParameterError(f"the database {str(self.path)!r} is closed")
        if write and self.read_only:
            raise StoreReadOnlyError(
                f"the database {str(self.path)!r} was opened read-only (its folder cannot "
                "be written); it cannot be changed"
            )

    # -- versions (store/versions.py; the SQL is in embedded/versions.py) -------------
    def cached(self, collection_id: int) -> EmbeddedCollection | None:
        """The open collection object with this id, if any."""
        return self._collections.get(collection_id)

    def lineage(self, name: str) -> dict[str, Any] | None:
        return versions.lineage(self, name)

    def set_lineage(self, name: str, record: dict[str, Any]) -> None:
        versions.set_lineage(self, name, record)

    def switch_version(
        self,
        live: str,
        staged: str,
        retired: str,
        *,
        expect_sequence: int,
        records: dict[str, dict[str, Any]],
    ) -> bool:
        return versions.switch_version(
            self, live, staged, retired, expect_sequence=expect_sequence, records=records
        )

    def _index_path(self, collection_id: int) -> Path:
        return self.path / "indexes" / f"{collection_id}.index"


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


def _save_quietly(collection: EmbeddedCollection) -> None:
    """Catch up and save one collection's index file; a failure only warns (it is derived)."""
    try:
        collection.save_quietly()
    except (OSError, EmbedlabError) as exc:
        warnings.warn(
            f"could not save the index of collection {collection.name!r}: {exc}",
            RuntimeWarning,
            stacklevel=3,
        )

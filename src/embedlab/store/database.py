"""The vector database: named collections on a backend.

``Database("./folder")`` is the embedded backend (SQLite + faiss in that folder, created if
missing); ``Database("postgresql://user@host/dbname")`` keeps the collections on a
PostgreSQL server with the pgvector extension. Both answer the same API (see
:mod:`embedlab.store.backend.base` for the seam between this class and a backend).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from embedlab._validation import check_float, check_int
from embedlab.errors import CollectionNotFoundError, InvalidParameterError
from embedlab.metrics import Metric
from embedlab.store._calibrate import check_index_params
from embedlab.store._inputs import check_name
from embedlab.store.backend.base import CollectionBackend, DatabaseBackend
from embedlab.store.backend.embedded import EmbeddedDatabase
from embedlab.store.collection import Collection
from embedlab.store.index import INDEX_KINDS
from embedlab.store.results import CollectionInfo

__all__ = ["Database", "is_server_url"]

_MAX_DIM = 65_536
_URL_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(location: object) -> bool:
    """True for a PostgreSQL connection URL (``postgresql://...`` or ``postgres://...``).

    Example:
        >>> is_server_url("postgresql://me@db.example/vectors"), is_server_url("./my.db")
        (True, False)
    """
    return isinstance(location, str) and location.lower().startswith(_URL_SCHEMES)


class Database:
    """A vector database: a folder (created if missing), or a ``postgresql://`` URL of a
    PostgreSQL server with pgvector (``pip install 'embedlab[postgres]'``; the same API,
    shared by every process and machine that connects; ``lock_timeout`` bounds the wait
    for another writer's locks there too).

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
        timeout = check_float("lock_timeout", lock_timeout, minimum=0.0)
        self._backend: DatabaseBackend
        if is_server_url(path):
            from embedlab.store.backend.postgres import PostgresDatabase

            self.path: Path | None = None
            self.url: str | None = str(path)
            self._backend = PostgresDatabase(self.url, lock_timeout=timeout)
        else:
            self.path = Path(path)
            self.url = None
            self._backend = EmbeddedDatabase(
                self.path, lock_timeout=timeout, background_indexing=background_indexing
            )
        self.read_only = self._backend.read_only
        self._collections: dict[int, tuple[CollectionBackend, Collection]] = {}
        self._lock = threading.RLock()  # get-or-create is one step within a process
        self._open = True

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
        self._check_open()
        impl = self._backend.create_collection(
            name, dim=dim, metric=parsed_metric.value, kind=kind, params=params, model=model
        )
        return self._wrap(impl)

    def get_collection(self, name: str) -> Collection:
        """An existing collection (its index loaded, and rebuilt if its file is unusable)."""
        self._check_open()
        return self._wrap(self._backend.get_collection(name))

    def _wrap(self, impl: CollectionBackend) -> Collection:
        """The one :class:`Collection` of a backend collection object."""
        known = self._collections.get(id(impl))
        if known is not None and known[0] is impl:
            return known[1]
        collection = Collection(self, impl)
        self._collections[id(impl)] = (impl, collection)
        return collection

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
        self._check_open()
        return self._backend.list_collections()

    def delete_collection(self, name: str) -> None:
        """Remove a collection, its rows and its index."""
        self._check_open()
        self._backend.delete_collection(name)
        self._collections = {
            key: pair for key, pair in self._collections.items() if pair[1].name != name
        }

    def rename_collection(self, name: str, new_name: str) -> None:
        """Give a collection a new name (checked as ``create_collection`` checks names).

        Its rows, index and settings stay as they are; the old name is gone at once, for
        every handle and process. A name already taken raises
        :class:`~embedlab.errors.CollectionExistsError` and changes nothing. Chroma's
        ``collection.modify(name=...)`` calls this.

        Example:
            >>> import tempfile, embedlab
            >>> db = embedlab.Database(tempfile.mkdtemp())
            >>> col = db.create_collection("draft", dim=2, index="flat")
            >>> db.rename_collection("draft", "final")
            >>> col.name, [c.name for c in db.list_collections()]
            ('final', ['final'])
            >>> db.close()
        """
        if not isinstance(name, str):
            raise InvalidParameterError(f"a collection name must be a str; got {name!r}")
        new_name = check_name(new_name)
        self._check_open()
        self._refuse_with_versions(name)
        self._backend.rename_collection(name, new_name)
        for impl, _ in self._collections.values():
            if impl.spec.name == name:
                impl.renamed(new_name)

    def _refuse_with_versions(self, name: str) -> None:
        """A collection with kept versions (``NAME@vN``, from ``db reembed``) keeps its name:
        the versions are found by it, and renaming them all is not one transaction."""
        from embedlab.store.versions import list_versions  # versions build on Database

        try:
            kept = [v.collection for v in list_versions(self, name) if v.collection != name]
        except CollectionNotFoundError:
            return  # the backend's rename says so (or renames a pending collection)
        if kept:
            raise InvalidParameterError(
                f"cannot rename collection {name!r}: it has kept versions {kept}; drop them "
                f"first (embedlab db drop-version {name} N)"
            )

    # -- life -------------------------------------------------------------------------
    def close(self) -> None:
        """Save index files with unsaved changes (if the write lock is free) and close."""
        if not self._open:
            return
        self._backend.close()
        self._collections.clear()
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
        return f"Database({str(self.path) if self.url is None else _hide_password(self.url)!r})"

    def _check_open(self) -> None:
        if not self._open:
            where = str(self.path) if self.url is None else _hide_password(self.url)
            raise InvalidParameterError(f"the database {where!r} is closed")


def _index_kind(index: object) -> str:
    if isinstance(index, str) and index.strip().lower().replace("_", "-") in INDEX_KINDS:
        return index.strip().lower().replace("_", "-")
    valid = ", ".join(repr(k) for k in sorted(INDEX_KINDS))
    raise InvalidParameterError(f"The 'index' parameter must be one of {valid}. Got {index!r}.")


def _hide_password(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and repr)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"

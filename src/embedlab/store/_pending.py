"""A collection created without a dimension, as Chroma's quick-start does: the first add
fixes the dimension (from its vectors, or from the encoder that embeds its documents).

Rules: until that first add nothing is written, so the collection is not yet on disk (other
processes and ``get_collection`` do not see it); it counts 0 rows, ``get`` answers no rows
and ``query`` is refused as for any empty collection. The first add creates the real
collection (``get_or_create_collection`` with the remembered settings) and from then on
this object is that collection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.errors import InvalidParameterError
from embedlab.store._chroma_forms import DEFAULT_ENCODER, write_args
from embedlab.store.collection import Collection
from embedlab.store.results import GetResult

if TYPE_CHECKING:
    from embedlab.store._state import Spec
    from embedlab.store.backend.base import CollectionBackend
    from embedlab.store.database import Database

__all__ = ["PendingCollection"]


class PendingCollection(Collection):
    """A :class:`Collection` whose dimension the first add fixes.

    Example:
        >>> import tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("notes")  # no dim yet
        >>> col.add(ids=["a"], embeddings=[[1.0, 0.0, 0.0]])
        >>> col.dim, col.count()
        (3, 1)
        >>> db.close()
    """

    @classmethod
    def create(cls, db: Database, name: str, **settings: Any) -> PendingCollection:
        """A pending collection (checked: the name is free, the metric and index known)."""
        from embedlab.errors import CollectionExistsError, CollectionNotFoundError
        from embedlab.metrics import Metric
        from embedlab.store._inputs import check_name
        from embedlab.store.index import INDEX_KINDS

        name = check_name(name)
        Metric.parse(settings.get("metric", "cosine"), name="metric")
        if settings.get("index", "hnsw") not in INDEX_KINDS:
            valid = ", ".join(sorted(INDEX_KINDS))
            raise InvalidParameterError(
                f"The 'index' parameter must be one of {valid}. Got {settings.get('index')!r}."
            )
        try:
            db.get_collection(name)
        except CollectionNotFoundError:
            return cls(db, name, settings)
        raise CollectionExistsError(
            f"collection {name!r} already exists; use get_collection() or "
            "get_or_create_collection()"
        )

    def __init__(self, db: Database, name: str, settings: Mapping[str, Any]) -> None:
        self._db = db
        self._pending_name = name
        self._settings = dict(settings)
        self._ready = False

    # -- before the first add -----------------------------------------------------------
    @property
    def spec(self) -> Spec:
        if not self._ready:
            raise InvalidParameterError(
                f"collection {self._pending_name!r} has no dimension until its first add"
            )
        return super().spec

    @property
    def name(self) -> str:
        return self._pending_name

    @property
    def model(self) -> str | None:
        return super().model if self._ready else self._settings.get("model")

    def __repr__(self) -> str:
        if self._ready:
            return super().__repr__()
        return f"Collection({self._pending_name!r}, dim=None (fixed by the first add))"

    def count(self) -> int:
        return super().count() if self._ready else 0

    def get(self, ids: Sequence[str] | None = None, **options: Any) -> GetResult:
        if self._ready:
            return super().get(ids, **options)
        return GetResult._make(ids=())

    @property
    def _impl(self) -> CollectionBackend:
        """The backend's collection, once the first add made it; before, a typed error."""
        if not self._ready:
            raise InvalidParameterError(
                f"collection {self._pending_name!r} is empty and has no dimension yet; "
                "add rows first"
            )
        return self._made

    @_impl.setter
    def _impl(self, made: CollectionBackend) -> None:
        self._made = made

    def modify(
        self, name: str | None = None, metadata: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        if self._ready:
            return super().modify(name, metadata, **options)
        from embedlab.store._chroma_forms import modify_args

        new_name = modify_args(self, name, metadata, options)
        if new_name is not None:  # nothing is on disk yet: the name must only be free
            PendingCollection.create(self._db, new_name, **self._settings)
            self._pending_name = new_name

    # -- the first add creates it --------------------------------------------------------
    def add(self, ids: Any, vectors: Any = None, *args: Any, **options: Any) -> None:
        vectors, args, options = self._settle(ids, vectors, args, options)
        super().add(ids, vectors, *args, **options)

    def upsert(self, ids: Any, vectors: Any = None, *args: Any, **options: Any) -> None:
        vectors, args, options = self._settle(ids, vectors, args, options)
        super().upsert(ids, vectors, *args, **options)

    def _settle(
        self, ids: Any, vectors: Any, args: tuple[Any, ...], options: dict[str, Any]
    ) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        """Embed documents if need be, then create the collection at the vectors' width."""
        if self._ready:
            return vectors, args, options
        documents = args[1] if len(args) > 1 else options.get("documents")
        if vectors is None and options.get("embeddings") is None and documents is not None:
            self._settings.setdefault("model", None)
            if self._settings["model"] is None:
                self._settings["model"] = DEFAULT_ENCODER
            _, vectors, _, _ = write_args(self._settings["model"], ids, None, None, documents, {})
        given = vectors if vectors is not None else options.get("embeddings")
        if given is None:
            raise InvalidParameterError(
                f"the first add to {self._pending_name!r} fixes its dimension: give vectors "
                "(embeddings) or documents to embed"
            )
        try:
            array = np.asarray(given)
        except (TypeError, ValueError):  # ragged rows: the batch check names the bad one
            array = np.asarray(given[0])
        dim = int(array.shape[-1]) if array.ndim in (1, 2) and array.size else 0
        if dim < 1:
            raise InvalidParameterError(f"cannot tell a dimension from vectors {given!r:.60}")
        real = self._db.get_or_create_collection(self._pending_name, dim=dim, **self._settings)
        made = real._impl
        Collection.__init__(self, self._db, made)
        self._db._collections[id(made)] = (made, self)  # the database hands out this object
        self._ready = True
        return vectors, args, options

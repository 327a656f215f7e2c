"""A collection: vectors with ids, metadata and documents, one model, one metric, one index.

Writes go to SQLite first, under the database's write lock; the in-memory view (ANN index,
metadata columns) follows after the commit. Reads first replay whatever other processes
committed. See :class:`Collection` for the API.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack, overload

import numpy as np
import numpy.typing as npt

from embedlab import _html
from embedlab._validation import check_float, check_int
from embedlab.errors import (
    CollectionNotFoundError,
    DuplicateIdError,
    InvalidParameterError,
    ModelMismatchError,
    StoreIOError,
    UnknownKeyError,
)
from embedlab.store import _frames, _maintenance
from embedlab.store._calibrate import due as calibration_due
from embedlab.store._chroma_forms import (
    QueryResults,
    modify_args,
    query_args,
    split_document_keys,
    write_args,
)
from embedlab.store._indexer import CHUNK, MAX_BACKLOG
from embedlab.store._inputs import (
    MAX_K,
    Batch,
    Include,
    check_documents,
    check_ids,
    check_include,
    check_k,
    check_keyword_query,
    check_metadata_list,
    check_metadata_patches,
    check_queries,
    check_vectors,
    show_values,
)
from embedlab.store._search import DEFAULT_EXACT_THRESHOLD, search
from embedlab.store._state import (
    CollectionState,
    Spec,
    encode_vectors,
    prepare,
    unpack_vectors,
)
from embedlab.store.filters import document_filter_sql, parse_where, parse_where_document
from embedlab.store.index import INDEX_KINDS
from embedlab.store.metadata import check_metadata, metadata_to_json
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

if TYPE_CHECKING:
    from embedlab.store.database import Database

__all__ = ["Collection"]

_DEFAULT_INCLUDE = ("metadata", "documents")
R = TypeVar("R", bound=GetResult)


class QueryOptions(TypedDict, total=False):
    """The keyword options of :meth:`Collection.query`."""

    where: Mapping[str, Any] | None
    where_document: Mapping[str, Any] | None
    max_distance: float | None
    include: Iterable[str] | str
    search_params: Mapping[str, int] | None
    exact_threshold: int
    model: str | None


class Collection:
    """Vectors of one model with ids, metadata and documents, searchable by an ANN index.

    Get one from :class:`~embedlab.store.Database` (``create_collection``,
    ``get_collection``); don't construct it directly.

    Example:
        >>> import numpy as np, tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("demo", dim=3, metric="cosine", index="flat")
        >>> col.add(ids=["a", "b"], vectors=np.eye(3)[:2], metadata=[{"n": 1}, {"n": 2}])
        >>> col.query([1.0, 0.1, 0.0], k=1).ids
        ('a',)
        >>> db.close()
    """

    def __init__(self, db: Database, state: CollectionState) -> None:
        self._db = db
        self._state = state
        self._use(state)

    # -- settings ---------------------------------------------------------------------
    @property
    def spec(self) -> Spec:
        return self._state.spec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def metric(self) -> str:
        return self.spec.metric.value

    @property
    def index(self) -> str:
        return self.spec.kind

    @property
    def index_params(self) -> dict[str, float]:
        """The index's parameters as created, with ``recall`` when there is a target."""
        return self.spec.index_params

    @property
    def model(self) -> str | None:
        return self.spec.model

    def __repr__(self) -> str:
        return (
            f"Collection({self.name!r}, dim={self.dim}, metric={self.metric!r}, "
            f"index={self.index!r}, model={self.model!r})"
        )

    def __len__(self) -> int:
        return self.count()

    def count(self) -> int:
        """Live rows (deleted ones excluded)."""
        with self._db._lock:
            return self._current().n_alive

    def info(self) -> CollectionInfo:
        """Settings and size, as :meth:`Database.list_collections` reports them, and the
        search breadth measured for the recall target (``calibration``; None until the
        collection has about 1,000 indexed rows, or without a target)."""
        with self._reading() as state:
            row = self._db._storage.collection_by_id(state.spec.id)
            return CollectionInfo(
                name=self.name,
                dim=self.dim,
                metric=self.metric,
                index=self.index,
                index_params=self.index_params,
                model=self.model,
                count=state.n_alive,
                created=row.created if row else 0.0,
                calibration=state.calibration,
            )

    # -- writing ----------------------------------------------------------------------
    def add(
        self,
        ids: Sequence[str] | str | Any,
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        *,
        model: str | None = None,
        **chroma: Any,
    ) -> None:
        """Add new rows; any id already stored is an error (use :meth:`upsert` to replace).

        The batch is one transaction: all rows are stored, or none. ``ids`` may instead be a
        pandas / polars DataFrame or an Arrow table with ``id``, ``vector`` (or
        ``embedding``), ``document`` and metadata columns (see :mod:`embedlab.store._frames`).
        Chroma's form works too: ``add(ids, embeddings=..., metadatas=..., documents=...)``,
        and documents without vectors are embedded by the collection's encoder
        (``store._chroma_forms``).
        """
        ids, vectors, metadata, documents = write_args(
            self.model, ids, vectors, metadata, documents, chroma, collection=self
        )
        batch = self._batch(ids, vectors, metadata, documents, model)
        with self._writing() as state:
            existing = [key for key in batch.ids if key in state.id_pos]
            if existing:
                raise DuplicateIdError(
                    f"collection {self.name!r} already has {len(existing)} of these ids: "
                    f"{show_values(existing)}; upsert replaces them"
                )
            self._commit(state, batch, replaced=np.zeros(0, dtype=np.int64))
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def upsert(
        self,
        ids: Sequence[str] | str | Any,
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        *,
        model: str | None = None,
        **chroma: Any,
    ) -> None:
        """Add rows, replacing (vector, metadata and document) those whose id exists.

        Takes Chroma's form as :meth:`add` does."""
        ids, vectors, metadata, documents = write_args(
            self.model, ids, vectors, metadata, documents, chroma, collection=self
        )
        batch = self._batch(ids, vectors, metadata, documents, model)
        with self._writing() as state:
            replaced = [state.id_pos[key] for key in batch.ids if key in state.id_pos]
            self._commit(state, batch, replaced=np.array(replaced, dtype=np.int64))
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def update(
        self,
        ids: Sequence[str],
        *,
        vectors: npt.ArrayLike | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        documents: Sequence[str | None] | None = None,
        model: str | None = None,
    ) -> None:
        """Change stored rows; every id must exist.

        Metadata is merged into the stored dict (a key given as None is removed, as in
        Chroma); vectors and documents, when given, replace the stored ones.
        """
        keys = check_ids(ids)
        self._check_model(model, "vectors")
        patches = check_metadata_patches(metadata, len(keys))
        new_docs = None if documents is None else check_documents(documents, len(keys))
        new_vectors = None if vectors is None else check_vectors(self.spec, vectors, len(keys))
        with self._writing() as state:
            missing = [key for key in keys if key not in state.id_pos]
            if missing:
                raise UnknownKeyError(missing[0], what=f"id in collection {self.name!r}")
            positions = np.array([state.id_pos[key] for key in keys], dtype=np.int64)
            labels = state.labels[positions].tolist()
            storage = self._db._storage
            old_vectors = storage.fetch(labels, "vector") if new_vectors is None else {}
            old_docs = storage.fetch(labels, "document") if new_docs is None else {}
            merged = []
            for i, pos in enumerate(positions.tolist()):
                meta = state.metadata_at(pos)
                if patches is not None:
                    removed, changes = patches[i]
                    meta = {k: v for k, v in meta.items() if k not in removed}
                    meta.update(changes)
                merged.append(check_metadata(meta))
            if new_vectors is None:
                blobs = [old_vectors[label] for label in labels]
                stored = np.frombuffer(b"".join(blobs), dtype=self.spec.dtype)
                new_vectors = stored.reshape(len(keys), self.spec.width)
            batch = Batch(
                keys,
                new_vectors,
                merged,
                new_docs if new_docs is not None else [old_docs[label] for label in labels],
            )
            self._commit(state, batch, replaced=positions)
        state.limit_backlog(MAX_BACKLOG, CHUNK)

    def delete(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
    ) -> int:
        """Delete rows by id and/or filter (both: rows matching both); return how many.

        Deleted rows leave results at once; :meth:`compact` reclaims their space. Ids that
        are not stored are ignored.
        """
        if ids is None and not where and not where_document:
            raise InvalidParameterError(
                "delete() needs ids, where or where_document; to remove everything use "
                "Database.delete_collection()"
            )
        keys = None if ids is None else check_ids([ids] if isinstance(ids, str) else ids)
        where, where_document = split_document_keys(where, where_document)
        parsed = parse_where(where)
        parsed_doc = parse_where_document(where_document)
        with self._writing() as state:
            selected = self._select(state, keys, parsed, parsed_doc)
            if len(selected) == 0:
                return 0
            storage = self._db._storage
            with storage.write():
                seq = storage.next_seq(self.spec.id)
                storage.tombstone(self.spec.id, seq, state.labels[selected].tolist())
            with state.following(seq):
                state.kill(selected)
            return len(selected)

    # -- reading ----------------------------------------------------------------------
    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
        include: Iterable[str] | str = _DEFAULT_INCLUDE,
    ) -> GetResult:
        """Rows by id (in the order asked; unknown ids are skipped) or by filter (in
        insertion order), paged with ``limit`` and ``offset``."""
        keys = None if ids is None else check_ids([ids] if isinstance(ids, str) else ids)
        where, where_document = split_document_keys(where, where_document)
        parsed = parse_where(where)
        parsed_doc = parse_where_document(where_document)
        wanted = check_include(include)
        if limit is not None:
            limit = check_int("limit", limit, minimum=0)
        offset = check_int("offset", offset, minimum=0)
        with self._reading() as state:
            selected = self._select(state, keys, parsed, parsed_doc)
            end = None if limit is None else offset + limit
            selected = selected[offset:end]
            return self._rows(state, selected, wanted, GetResult)

    @overload
    def query(
        self, queries: Sequence[Sequence[float]], k: int = 10, **options: Unpack[QueryOptions]
    ) -> list[QueryResult]: ...

    @overload
    def query(
        self, queries: Sequence[float], k: int = 10, **options: Unpack[QueryOptions]
    ) -> QueryResult: ...

    @overload
    def query(
        self, queries: npt.NDArray[Any], k: int = 10, **options: Unpack[QueryOptions]
    ) -> Any: ...

    def query(
        self,
        queries: npt.ArrayLike | None = None,
        k: int | None = None,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        max_distance: float | None = None,
        include: Iterable[str] | str = _DEFAULT_INCLUDE,
        search_params: Mapping[str, int] | None = None,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        model: str | None = None,
        **chroma: Any,
    ) -> QueryResult | list[QueryResult]:
        """The k nearest rows to each query vector, nearest first.

        One vector (1-D) gives one :class:`QueryResult`; a matrix gives a list, one per row.
        ``where`` / ``where_document`` filter the rows; ``max_distance`` keeps only
        matches within that distance (range search); ``search_params`` overrides the
        index's per-query parameters (``ef_search``, ``nprobe``, ``refine``); filters that
        leave ``exact_threshold`` or fewer candidates are answered by an exact scan.
        Chroma's form (``query_embeddings=`` or ``query_texts=``, ``n_results=``) answers
        a :class:`~embedlab.store._chroma_forms.QueryResults`, which also reads as
        Chroma's dict of lists (``results["ids"][0]``).
        """
        chroma_form = False
        if chroma or queries is None:
            opts: dict[str, Any] = {"where": where, "where_document": where_document}
            opts["include"] = include
            opts |= chroma
            queries, k, chroma_form = query_args(self, queries, k, opts)
            where, where_document = opts["where"], opts["where_document"]
        else:
            k = 10 if k is None else k
            where, where_document = split_document_keys(where, where_document)
        self._check_model(model, "a query")
        stored, single = check_queries(self.spec, queries)
        if type(k) is not int or not 1 <= k <= MAX_K:
            k = check_k(k)
        wanted = check_include(include)
        parsed = parse_where(where)
        parsed_doc = parse_where_document(where_document)
        overrides = None
        if search_params:
            overrides = INDEX_KINDS[self.spec.kind].check_params(
                search_params, self.spec.dim, per_query=True
            )
        if max_distance is not None:
            max_distance = check_float("max_distance", max_distance, minimum=-np.inf)
        if type(exact_threshold) is not int or exact_threshold < 0:
            exact_threshold = check_int("exact_threshold", exact_threshold, minimum=0)
        with self._reading() as state:
            if state.n_alive == 0:
                raise InvalidParameterError(
                    f"collection {self.name!r} is empty; add vectors before querying it"
                )
            allowed = None
            if not parsed.is_all() or not parsed_doc.is_all():
                allowed = self._mask(state, parsed, parsed_doc)
            hits = search(
                state,
                prepare(self.spec, stored),
                k,
                allowed=allowed,
                overrides=overrides,
                exact_threshold=exact_threshold,
                max_distance=max_distance,
            )
            results = [
                self._rows(state, positions, wanted, QueryResult, distances=distances)
                for distances, positions in hits
            ]
        if chroma_form:
            return QueryResults(results)
        return results[0] if single else results

    def peek(self, limit: int = 10) -> GetResult:
        """The first ``limit`` rows with metadata, documents and vectors (Chroma's ``peek``).

        Example:
            >>> col.peek(3).ids  # doctest: +SKIP
            ('a', 'b', 'c')
        """
        return self.get(limit=limit, include=("metadata", "documents", "vectors"))

    def modify(
        self, name: str | None = None, metadata: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        """Chroma's ``modify``: renaming and collection metadata are not supported (a typed
        error names which); a call that changes nothing returns."""
        modify_args(self, name, metadata, options)

    def keyword_query(
        self,
        text: str,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        where_document: Mapping[str, Any] | None = None,
        include: Iterable[str] | str = _DEFAULT_INCLUDE,
    ) -> QueryResult:
        """The k documents that best match the words of ``text`` by BM25 (SQLite FTS5).

        Words are matched case-insensitively after Porter stemming, any of them counting
        (OR); ``distances`` are FTS5's BM25 scores, lower is better.

        Example:
            >>> import tempfile, embedlab
            >>> db = embedlab.Database(tempfile.mkdtemp())
            >>> col = db.create_collection("d", dim=2, index="flat")
            >>> col.add(["a", "b"], [[1, 0], [0, 1]], documents=["river banks", "a loan"])
            >>> col.keyword_query("bank", k=5).ids
            ('a',)
            >>> db.close()
        """
        fts = check_keyword_query(text)
        k = check_k(k)
        wanted = check_include(include)
        parsed = parse_where(where)
        parsed_doc = parse_where_document(where_document)
        filtered = not parsed.is_all() or not parsed_doc.is_all()
        with self._reading() as state:
            labels, scores = self._db._storage.keyword_matches(
                self.spec.id, fts, None if filtered else k
            )
            positions, found = state.lookup(labels)
            scores = scores[found]
            keep = state.alive[positions]
            if filtered:
                keep &= self._mask(state, parsed, parsed_doc)[positions]
            positions, scores = positions[keep][:k], scores[keep][:k]
            return self._rows(state, positions, wanted, QueryResult, distances=scores)

    def to_arrow(self) -> Any:
        """Every live row as a ``pyarrow.Table`` (see :meth:`GetResult.to_arrow`)."""
        return _frames.to_arrow(self)

    def to_pandas(self) -> Any:
        """Every live row as a ``pandas.DataFrame`` (``pip install 'embedlab[frames]'``)."""
        return _frames.to_pandas(self)

    def to_polars(self) -> Any:
        """Every live row as a ``polars.DataFrame`` (``pip install 'embedlab[frames]'``)."""
        return _frames.to_polars(self)

    def _repr_html_(self) -> str:
        return _html.collection_html(self)

    # -- maintenance ------------------------------------------------------------------
    def compact(self) -> int:
        """Drop deleted rows for good, rebuild the index without them and give the disk
        space back; return how many rows were dropped."""
        with self._writing(autosave=False) as state:
            purged, fresh = _maintenance.rebuild(self._db, state, purge=True)
            self._use(fresh)
            return purged

    def rebuild_index(self) -> None:
        """Build the ANN index again from the stored rows and save it."""
        with self._writing(autosave=False) as state:
            _, fresh = _maintenance.rebuild(self._db, state, purge=False)
            self._use(fresh)

    def verify(self) -> VerifyReport:
        """Check the stored rows, the index file and the in-memory index against each other."""
        with self._db._lock, self._db._storage.guard():
            return _maintenance.verify(self._db, self._current())

    def save_index(self) -> None:
        """Finish indexing and write the index file now (it is also written on close and
        every few thousand changes)."""
        with self._writing(autosave=False) as state:
            state.index_pending()
            try:
                state.save()
            except OSError as exc:
                raise StoreIOError(
                    f"could not write the index file {state.index_path}: {exc.strerror or exc}"
                ) from None

    def wait_for_index(self) -> None:
        """Block until every stored row is in the ANN index.

        Writes return before the background indexer has added their rows to the index
        (queries find them meanwhile by an exact scan); call this before timing queries.
        It also measures the search breadth for the recall target if the index has grown
        enough since it was last measured (see ``info().calibration``).
        """
        with self._db._lock:
            state = self._current()
        state.index_pending()
        state.calibrate_if_due()

    @property
    def pending(self) -> int:
        """Rows written but not in the ANN index yet (the background indexer's backlog)."""
        return self._state.pending

    @property
    def sequence(self) -> int:
        """The sequence number of the last change committed to this collection.

        It grows with every add, update or delete, so derived data (a cached projection,
        say) stamped with it is stale exactly when the number moved.
        """
        with self._db._lock:
            return self._current().applied_seq

    # -- internals --------------------------------------------------------------------
    def _current(self) -> CollectionState:
        """The view, caught up with what other connections committed (caller holds _lock)."""
        self._db._check_open()
        if self.spec.id in self._db._dropped:
            names = [c.name for c in self._db._storage.collections()]
            raise CollectionNotFoundError(self.name, names)
        fresh = self._state.refresh(self._db._storage)
        if fresh is not self._state:
            self._use(fresh)
        return fresh

    def _use(self, state: CollectionState) -> None:
        """Adopt a view: retire the one it replaces and hand it to the background indexer."""
        if state is not self._state:
            self._state.retired = True
            self._state = state
        state.indexer = self._db._indexer
        if (state.pending or calibration_due(state)) and state.indexer is not None:
            state.indexer.request(state)

    @contextmanager
    def _reading(self) -> Iterator[CollectionState]:
        """Hold the thread lock and one read transaction, with the view caught up to it.

        Everything read inside (the view, then documents and vectors by label) comes from
        that one snapshot, so a compaction committed meanwhile elsewhere is not half seen.
        """
        with self._db._lock:
            self._db._check_open()
            with self._db._storage.read():
                yield self._current()

    @contextmanager
    def _writing(self, *, autosave: bool = True) -> Iterator[CollectionState]:
        """Hold the thread lock and the write lock, with the view caught up.

        A failed autosave of the index file only warns: the write is committed, and the
        file (derived data) is saved again later.
        """
        self._db._check_open(write=True)
        with self._db._lock, self._db._write_lock.hold(), self._db._storage.guard():
            self._db._check_open()
            yield self._current()
            if autosave and self._state.needs_save():
                try:
                    self._state.save()
                except OSError as exc:
                    self._state.save_failed()
                    warnings.warn(
                        f"collection {self.name!r}: the write is stored, but its index file "
                        f"could not be saved ({exc}); it is saved again later",
                        RuntimeWarning,
                        stacklevel=3,
                    )

    def _check_model(self, model: str | None, what: str) -> None:
        if model is not None and self.spec.model is not None and model != self.spec.model:
            raise ModelMismatchError(
                f"collection {self.name!r} holds embeddings of model {self.spec.model!r}; "
                f"got {what} from model {model!r}"
            )

    def _batch(
        self,
        ids: Sequence[str] | Any,
        vectors: npt.ArrayLike | None,
        metadata: Sequence[Mapping[str, Any] | None] | None,
        documents: Sequence[str | None] | None,
        model: str | None,
    ) -> Batch:
        if vectors is None or _frames.is_frame(ids):  # add(df): the rows are its columns
            ids, vectors, metadata, documents = _frames.frame_batch(
                ids, vectors, metadata, documents
            )
        keys = check_ids(ids)
        self._check_model(model, "vectors")
        stored = check_vectors(self.spec, vectors, len(keys))
        metas = check_metadata_list(metadata, len(keys))
        docs = check_documents(documents, len(keys))
        return Batch(keys, stored, metas, docs)

    def _commit(
        self, state: CollectionState, batch: Batch, *, replaced: npt.NDArray[np.int64]
    ) -> None:
        """One transaction: tombstone replaced rows, insert the batch; then update the view."""
        if not batch.ids:
            return
        storage = self._db._storage
        with storage.write():
            seq = storage.next_seq(self.spec.id)
            if len(replaced):
                storage.tombstone(self.spec.id, seq, state.labels[replaced].tolist())
            labels = storage.insert_items(
                self.spec.id,
                seq,
                batch.ids,
                encode_vectors(batch.vectors),
                [metadata_to_json(m) if m else None for m in batch.metadata],
                batch.documents,
            )
        with state.following(seq):
            state.kill(replaced)
            state.append(labels, batch.ids, prepare(self.spec, batch.vectors), batch.metadata)

    def _mask(
        self, state: CollectionState, where: Any, where_document: Any
    ) -> npt.NDArray[np.bool_]:
        """Positions that satisfy both filters (liveness not applied)."""
        mask = np.ones(state.n, dtype=bool) if where.is_all() else state.columns.mask(where)
        if not where_document.is_all():
            sql, params = document_filter_sql(where_document)
            labels = self._db._storage.labels_matching_document(self.spec.id, sql, params)
            by_document = np.zeros(state.n, dtype=bool)
            by_document[state.positions_of(labels)] = True
            mask &= by_document
        return mask

    def _select(
        self,
        state: CollectionState,
        keys: list[str] | None,
        where: Any,
        where_document: Any,
    ) -> npt.NDArray[np.int64]:
        """Live positions chosen by ids (in their order) and filters (in insertion order)."""
        filtered = not where.is_all() or not where_document.is_all()
        mask = self._mask(state, where, where_document) if filtered else None
        if keys is not None:
            found = [state.id_pos[key] for key in keys if key in state.id_pos]
            positions = np.array(found, dtype=np.int64)
            if mask is not None and len(positions):
                positions = positions[mask[positions]]
            return positions
        live = state.alive if mask is None else state.alive & mask
        return np.flatnonzero(live).astype(np.int64)

    def _rows(
        self,
        state: CollectionState,
        positions: npt.NDArray[np.int64],
        wanted: frozenset[Include],
        kind: type[R],
        **extra: Any,
    ) -> R:
        """A result object for these positions with what ``include`` asks for."""
        plist = positions.tolist()
        fields: dict[str, Any] = {"ids": state.ids_of(plist)}
        if Include.METADATA in wanted:
            fields["metadata"] = state.metadata_of(plist)
        if Include.DOCUMENTS in wanted or Include.VECTORS in wanted:
            labels = state.labels[positions].tolist()
            storage = self._db._storage
            if Include.DOCUMENTS in wanted:
                docs = storage.fetch(labels, "document") if labels else {}
                fields["documents"] = tuple([docs.get(label) for label in labels])
            if Include.VECTORS in wanted:
                blobs = storage.fetch(labels, "vector") if labels else {}
                fields["vectors"] = unpack_vectors(self.spec, [blobs[label] for label in labels])
        return kind._make(**fields, **extra)

"""A collection: vectors with ids, metadata and documents, one model, one metric, one index.

Writes go to SQLite first, under the database's write lock; the in-memory view (ANN index,
metadata columns) follows after the commit. Reads first replay whatever other processes
committed. See :class:`Collection` for the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, overload

import numpy as np
import numpy.typing as npt

from embedlab import _html
from embedlab._validation import check_float, check_int
from embedlab.errors import (
    InvalidParameterError,
    ModelMismatchError,
)
from embedlab.store import _frames
from embedlab.store._chroma_forms import (
    QueryResults,
    modify_args,
    query_args,
    split_document_keys,
    write_args,
)
from embedlab.store._inputs import (
    MAX_K,
    Batch,
    check_documents,
    check_ids,
    check_include,
    check_k,
    check_keyword_terms,
    check_metadata_list,
    check_metadata_patches,
    check_queries,
    check_vectors,
)
from embedlab.store._search import DEFAULT_EXACT_THRESHOLD
from embedlab.store._state import Spec
from embedlab.store.filters import DOCUMENT_ALL, MATCH_ALL, parse_where, parse_where_document
from embedlab.store.index import INDEX_KINDS
from embedlab.store.results import CollectionInfo, GetResult, QueryResult, VerifyReport

if TYPE_CHECKING:
    from embedlab.store.backend.base import CollectionBackend
    from embedlab.store.database import Database

__all__ = ["Collection"]

_DEFAULT_INCLUDE = ("metadata", "documents")


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

    def __init__(self, db: Database, impl: CollectionBackend) -> None:
        self._db = db
        self._impl = impl

    # -- settings ---------------------------------------------------------------------
    @property
    def spec(self) -> Spec:
        return self._impl.spec

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
        self._db._check_open()
        return self._impl.count()

    def info(self) -> CollectionInfo:
        """Settings and size, as :meth:`Database.list_collections` reports them, and the
        search breadth measured for the recall target (``calibration``; None until the
        collection has about 1,000 indexed rows, or without a target)."""
        self._db._check_open()
        return self._impl.info()

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
        self._db._check_open()
        self._impl.add(batch)

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
        self._db._check_open()
        self._impl.upsert(batch)

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
        self._db._check_open()
        self._impl.update(keys, vectors=new_vectors, patches=patches, documents=new_docs)

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
        self._db._check_open()
        return self._impl.delete(keys, parsed, parsed_doc)

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
        self._db._check_open()
        return self._impl.get(keys, parsed, parsed_doc, offset=offset, limit=limit, include=wanted)

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
            if where is not None:
                where, where_document = split_document_keys(where, where_document)
        if model is not None:
            self._check_model(model, "a query")
        stored, single = check_queries(self.spec, queries)
        if type(k) is not int or not 1 <= k <= MAX_K:
            k = check_k(k)
        wanted = check_include(include)
        parsed = MATCH_ALL if where is None else parse_where(where)
        parsed_doc = (
            DOCUMENT_ALL if where_document is None else parse_where_document(where_document)
        )
        overrides = None
        if search_params:
            overrides = INDEX_KINDS[self.spec.kind].check_params(
                search_params, self.spec.dim, per_query=True
            )
        if max_distance is not None:
            max_distance = check_float("max_distance", max_distance, minimum=-np.inf)
        if type(exact_threshold) is not int or exact_threshold < 0:
            exact_threshold = check_int("exact_threshold", exact_threshold, minimum=0)
        self._db._check_open()
        results = self._impl.query(
            stored,
            k,
            parsed,
            parsed_doc,
            include=wanted,
            overrides=overrides,
            exact_threshold=exact_threshold,
            max_distance=max_distance,
        )
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
        """Chroma's ``modify``: ``name=`` renames the collection (as
        :meth:`Database.rename_collection`: a taken name raises
        :class:`~embedlab.errors.CollectionExistsError`); collection metadata is not
        supported (a typed error says so). A call that raises changes nothing.

        Example:
            >>> col.modify(name="articles")  # doctest: +SKIP
            >>> col.name  # doctest: +SKIP
            'articles'
        """
        new_name = modify_args(self, name, metadata, options)
        if new_name is not None:
            self._db.rename_collection(self.name, new_name)

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
        terms = check_keyword_terms(text)
        k = check_k(k)
        wanted = check_include(include)
        parsed = parse_where(where)
        parsed_doc = parse_where_document(where_document)
        self._db._check_open()
        return self._impl.keyword_query(terms, k, parsed, parsed_doc, include=wanted)

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
        self._db._check_open()
        return self._impl.compact()

    def rebuild_index(self) -> None:
        """Build the ANN index again from the stored rows and save it."""
        self._db._check_open()
        self._impl.rebuild_index()

    def verify(self) -> VerifyReport:
        """Check the stored rows, the index file and the in-memory index against each other."""
        self._db._check_open()
        return self._impl.verify()

    def save_index(self) -> None:
        """Finish indexing and write the index file now (it is also written on close and
        every few thousand changes)."""
        self._db._check_open()
        self._impl.save_index()

    def wait_for_index(self) -> None:
        """Block until every stored row is in the ANN index.

        Writes return before the background indexer has added their rows to the index
        (queries find them meanwhile by an exact scan); call this before timing queries.
        It also measures the search breadth for the recall target if the index has grown
        enough since it was last measured (see ``info().calibration``).
        """
        self._db._check_open()
        self._impl.wait_for_index()

    @property
    def pending(self) -> int:
        """Rows written but not in the ANN index yet (the background indexer's backlog)."""
        return self._impl.pending

    @property
    def sequence(self) -> int:
        """The sequence number of the last change committed to this collection.

        It grows with every add, update or delete, so derived data (a cached projection,
        say) stamped with it is stale exactly when the number moved.
        """
        self._db._check_open()
        return self._impl.sequence()

    # -- internals --------------------------------------------------------------------
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

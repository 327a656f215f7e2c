"""LlamaIndex adapters: an embedlab encoder as an embedding model, a collection as a
vector store.

``pip install 'embedlab[llamaindex]'``.

Example:
    >>> from llama_index.core import StorageContext, VectorStoreIndex  # doctest: +SKIP
    >>> from embedlab.integrations.llamaindex import EmbedlabEmbedding, EmbedlabVectorStore
    >>> store = EmbedlabVectorStore(path="./db", collection_name="docs")  # doctest: +SKIP
    >>> index = VectorStoreIndex(  # doctest: +SKIP
    ...     nodes,
    ...     storage_context=StorageContext.from_defaults(vector_store=store),
    ...     embed_model=EmbedlabEmbedding("minilm"),
    ... )
    >>> index.as_retriever(similarity_top_k=3).retrieve("question")  # doctest: +SKIP

Each node is a row: its id, its embedding, its text as the document, and as metadata its
own (flat) metadata plus LlamaIndex's bookkeeping (``_node_content``, ``_node_type``,
``ref_doc_id``, ``doc_id``, ``document_id``), so the node comes back whole. Similarities
are ``1 - distance`` for cosine and dot collections (higher is nearer) and
``1 / (1 + distance)`` for the others. ``MetadataFilters`` become an embedlab ``where``
filter (``text_match`` operators are refused; ``is_empty`` means the key is missing);
``VectorStoreQueryMode.TEXT_SEARCH`` is embedlab's BM25 keyword query.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np

from embedlab.integrations import require

require("llama_index.core", "llamaindex")

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding  # noqa: E402
from llama_index.core.bridge.pydantic import PrivateAttr  # noqa: E402
from llama_index.core.schema import BaseNode, MetadataMode  # noqa: E402
from llama_index.core.vector_stores.types import (  # noqa: E402
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import (  # noqa: E402
    metadata_dict_to_node,
    node_to_metadata_dict,
)

import embedlab  # noqa: E402
from embedlab.encoders import Encoder, load  # noqa: E402
from embedlab.errors import InvalidFilterError, InvalidParameterError  # noqa: E402

__all__ = ["EmbedlabEmbedding", "EmbedlabVectorStore", "where_from_filters"]

_INCLUDE = ("metadata", "documents")


class EmbedlabEmbedding(BaseEmbedding):
    """An embedlab encoder (a spec such as ``"minilm"``, or an :class:`Encoder`) as a
    LlamaIndex embedding model; vectors are unit length unless ``normalize=False``.

    Example:
        >>> model = EmbedlabEmbedding("minilm")  # doctest: +SKIP
        >>> len(model.get_query_embedding("hello"))  # doctest: +SKIP
        384
    """

    normalize: bool = True
    _encoder: Any = PrivateAttr()

    def __init__(
        self,
        model: str | PathLike[str] | Encoder = "minilm",
        *,
        normalize: bool = True,
        embed_batch_size: int = 32,
        **options: Any,
    ) -> None:
        encoder = model if isinstance(model, Encoder) else load(model, **options)
        super().__init__(  # type: ignore[call-arg]  # pydantic fields
            model_name=encoder.name, embed_batch_size=embed_batch_size, normalize=normalize
        )
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "EmbedlabEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if not texts:
            return []
        rows = self._encoder.encode(
            list(texts), batch_size=self.embed_batch_size, normalize=self.normalize
        )
        out: list[Embedding] = np.asarray(rows, dtype=np.float64).tolist()
        return out

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embedding(text)


class EmbedlabVectorStore(BasePydanticVectorStore):
    """An embedlab collection as a LlamaIndex vector store.

    Give an open ``collection``, or a database ``path`` (a folder; a temporary one, removed
    with the store, when neither is given) and a ``collection_name``: that collection is
    used if it exists, else created at the first add with the nodes' dimension and
    ``metric`` / ``index``.
    """

    stores_text: bool = True
    flat_metadata: bool = True
    collection_name: str = "llamaindex"
    metric: str = "cosine"
    index: str = "hnsw"
    _db: Any = PrivateAttr(default=None)
    _collection: Any = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        collection: embedlab.Collection | None = None,
        path: str | PathLike[str] | None = None,
        collection_name: str = "llamaindex",
        metric: str = "cosine",
        index: str = "hnsw",
    ) -> None:
        if collection is not None and path is not None:
            raise InvalidParameterError("give a collection or a path, not both")
        name = collection.name if collection is not None else collection_name
        super().__init__(collection_name=name, metric=metric, index=index)  # type: ignore[call-arg]
        self._collection = collection
        if collection is None:
            if path is None:
                path = tempfile.mkdtemp(prefix="embedlab-llamaindex-")
                weakref.finalize(self, shutil.rmtree, path, True)
            self._db = embedlab.Database(path)
            if name in {info.name for info in self._db.list_collections()}:
                self._collection = self._db.get_collection(name)

    @classmethod
    def class_name(cls) -> str:
        return "EmbedlabVectorStore"

    @property
    def client(self) -> Any:
        """The embedlab collection (None until the first add created it)."""
        return self._collection

    def close(self) -> None:
        """Close the database this store opened (not a collection it was given)."""
        if self._db is not None:
            self._db.close()

    # -- writing --------------------------------------------------------------------------
    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Store nodes (with their embeddings); a stored node id is replaced."""
        if not nodes:
            return []
        missing = [node.node_id for node in nodes if node.embedding is None]
        if missing:
            raise InvalidParameterError(
                f"nodes need embeddings before they are stored; {len(missing)} have none "
                f"(first: {missing[0]!r})"
            )
        vectors = np.asarray([node.get_embedding() for node in nodes], dtype=np.float32)
        metadata = [_row_metadata(node) for node in nodes]
        documents = [node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes]
        ids = [node.node_id for node in nodes]
        self._writable(vectors.shape[1]).upsert(ids, vectors, metadata, documents)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        if self._collection is not None:
            self._collection.delete(where={"ref_doc_id": ref_doc_id})

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete nodes by id and/or filter (both: nodes matching both)."""
        if self._collection is None or (node_ids is not None and not node_ids):
            return
        self._collection.delete(node_ids, where=where_from_filters(filters))

    def clear(self) -> None:
        """Delete every node (the collection stays, empty)."""
        if self._collection is not None and self._collection.count():
            self._collection.delete(self._collection.get(include=()).ids)

    def get_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
    ) -> list[BaseNode]:
        """Stored nodes by id (in that order; unknown ids skipped) and/or filter."""
        if self._collection is None:
            return []
        found = self._collection.get(node_ids, where=where_from_filters(filters), include=_INCLUDE)
        return [_node(match.metadata, match.document) for match in found]

    # -- searching ------------------------------------------------------------------------
    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The ``similarity_top_k`` nodes nearest to ``query.query_embedding`` (or, in
        ``TEXT_SEARCH`` mode, best matching ``query.query_str`` by BM25)."""
        col = self._collection
        empty = VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        if col is None or col.count() == 0:
            return empty
        where = where_from_filters(query.filters)
        if query.doc_ids:
            doc_filter = {"ref_doc_id": {"$in": list(query.doc_ids)}}
            where = doc_filter if where is None else {"$and": [where, doc_filter]}
        k = max(1, query.similarity_top_k)
        if query.mode == VectorStoreQueryMode.TEXT_SEARCH:
            if not query.query_str:
                raise InvalidParameterError("a TEXT_SEARCH query needs query_str")
            found = col.keyword_query(query.query_str, k=k, where=where, include=_INCLUDE)
            scores = [-float(d) for d in found.distances]  # BM25: lower is better
        elif query.mode == VectorStoreQueryMode.DEFAULT:
            if query.query_embedding is None:
                raise InvalidParameterError("a vector query needs query_embedding")
            wanted = col.count() if query.node_ids else k  # node_ids: rank all, keep those
            found = col.query(query.query_embedding, k=wanted, where=where, include=_INCLUDE)
            scores = [self._similarity(float(d)) for d in found.distances]
        else:
            raise InvalidParameterError(
                f"query mode {query.mode.value!r} is not supported; use 'default' or 'text_search'"
            )
        keep = range(len(found))
        if query.node_ids:
            allowed = set(query.node_ids)
            keep = [i for i in keep if found.ids[i] in allowed][:k]  # type: ignore[assignment]
        return VectorStoreQueryResult(
            nodes=[_node(found[i].metadata, found[i].document) for i in keep],
            similarities=[scores[i] for i in keep],
            ids=[found.ids[i] for i in keep],
        )

    # -- internals ------------------------------------------------------------------------
    def _similarity(self, distance: float) -> float:
        metric = self._collection.metric if self._collection is not None else self.metric
        if metric in ("cosine", "dot"):
            return 1.0 - distance
        return 1.0 / (1.0 + distance)

    def _writable(self, dim: int) -> embedlab.Collection:
        if self._collection is None:
            if self._db is None:  # pragma: no cover - one of the two is always set
                raise InvalidParameterError("the store has no database")
            self._collection = self._db.get_or_create_collection(
                self.collection_name, dim=dim, metric=self.metric, index=self.index
            )
        col: embedlab.Collection = self._collection
        return col


def _row_metadata(node: BaseNode) -> dict[str, Any]:
    """The node's metadata and LlamaIndex's bookkeeping, without the text or null values."""
    meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
    return {key: value for key, value in meta.items() if value is not None}


def _node(metadata: Any, text: str | None) -> BaseNode:
    node = metadata_dict_to_node(dict(metadata or {}), text=text)
    return node


_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
    FilterOperator.CONTAINS: "$contains",
}


def where_from_filters(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """LlamaIndex ``MetadataFilters`` as an embedlab ``where`` filter (None for none).

    Example:
        >>> from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
        >>> where_from_filters(MetadataFilters(filters=[
        ...     MetadataFilter(key="year", value=2020, operator=">="),
        ...     MetadataFilter(key="tag", value="a", operator="!="),
        ... ]))
        {'$and': [{'year': {'$gte': 2020}}, {'tag': {'$ne': 'a'}}]}
    """
    if filters is None or not filters.filters:
        return None
    parts: list[dict[str, Any]] = []
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            nested = where_from_filters(item)
            if nested is not None:
                parts.append(nested)
        else:
            parts.append(_condition(item))
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.OR:
        return {"$or": parts}
    combined = parts[0] if len(parts) == 1 else {"$and": parts}
    return {"$not": combined} if condition == FilterCondition.NOT else combined


def _condition(item: MetadataFilter) -> dict[str, Any]:
    op, key, value = item.operator, item.key, item.value
    if op in _OPERATORS:
        return {key: {_OPERATORS[op]: value}}
    if op in (FilterOperator.ANY, FilterOperator.ALL):
        values = value if isinstance(value, list) else [value]
        if not values:
            raise InvalidFilterError(f"filter on {key!r}: {op.value!r} needs a non-empty list")
        joined = [{key: {"$contains": v}} for v in values]
        return {"$or" if op == FilterOperator.ANY else "$and": joined}
    if op == FilterOperator.IS_EMPTY:
        return {key: {"$exists": False}}
    raise InvalidFilterError(
        f"filter on {key!r}: the {op.value!r} operator is not supported; embedlab filters "
        f"metadata with {', '.join(o.value for o in (*_OPERATORS, FilterOperator.ANY))}, "
        "all and is_empty"
    )

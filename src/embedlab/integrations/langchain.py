"""LangChain adapters: an embedlab encoder as ``Embeddings``, a collection as a ``VectorStore``.

``pip install 'embedlab[langchain]'``. Both pass ``langchain-tests``' standard suites
(``tests/test_integrations_langchain.py``).

Example:
    >>> from embedlab.integrations.langchain import EmbedlabEmbeddings, EmbedlabVectorStore
    >>> store = EmbedlabVectorStore.from_texts(  # doctest: +SKIP
    ...     ["river bank", "bank loan"], EmbedlabEmbeddings("minilm"), path="./db"
    ... )
    >>> store.similarity_search("money", k=1)[0].page_content  # doctest: +SKIP
    'bank loan'

Documents are stored as the collection's documents, their ``metadata`` as its metadata (a
flat object of str, int, float, bool and lists of those: what embedlab stores), their
ids as its ids (new UUIDs when a document has none). Adding an id that is stored replaces
it. ``similarity_search_with_score`` gives embedlab's distances (lower is nearer);
``similarity_search_with_relevance_scores`` turns them into 0-1 relevance for cosine, dot
and euclidean collections. ``filter=`` is an embedlab ``where`` filter.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np

from embedlab.integrations import require

require("langchain_core", "langchain")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.vectorstores import VectorStore  # noqa: E402
from langchain_core.vectorstores.utils import maximal_marginal_relevance  # noqa: E402

import embedlab  # noqa: E402
from embedlab.encoders import Encoder, load  # noqa: E402
from embedlab.errors import InvalidParameterError  # noqa: E402

__all__ = ["EmbedlabEmbeddings", "EmbedlabVectorStore"]


class EmbedlabEmbeddings(Embeddings):
    """An embedlab encoder (a spec such as ``"minilm"``, or an :class:`Encoder`) as
    LangChain ``Embeddings``; vectors are unit length unless ``normalize=False``.

    Example:
        >>> emb = EmbedlabEmbeddings("minilm")  # doctest: +SKIP
        >>> len(emb.embed_query("hello"))  # doctest: +SKIP
        384
    """

    def __init__(
        self,
        model: str | PathLike[str] | Encoder = "minilm",
        *,
        normalize: bool = True,
        batch_size: int = 32,
        **options: Any,
    ) -> None:
        self.encoder: Encoder = model if isinstance(model, Encoder) else load(model, **options)
        self.normalize = normalize
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector (a list of floats) per text."""
        if not texts:
            return []
        rows = self.encoder.encode(
            list(texts), batch_size=self.batch_size, normalize=self.normalize
        )
        out: list[list[float]] = rows.astype(np.float64).tolist()
        return out

    def embed_query(self, text: str) -> list[float]:
        """The vector of one text."""
        return self.embed_documents([text])[0]


class EmbedlabVectorStore(VectorStore):
    """An embedlab collection as a LangChain ``VectorStore``.

    Give an open ``collection``, or a database ``path`` (a folder; a temporary one, removed
    with the store, when neither is given) and a ``collection_name``: that collection is
    used if it exists, else created at the first add with the embeddings' dimension and
    ``metric`` / ``index``.
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        collection: embedlab.Collection | None = None,
        path: str | PathLike[str] | None = None,
        collection_name: str = "langchain",
        metric: str = "cosine",
        index: str = "hnsw",
    ) -> None:
        if collection is not None and path is not None:
            raise InvalidParameterError("give a collection or a path, not both")
        self._embedding = embedding
        self._metric = metric
        self._index = index
        self._name = collection.name if collection is not None else collection_name
        self._db: embedlab.Database | None = None
        self._collection = collection
        if collection is None:
            if path is None:
                path = tempfile.mkdtemp(prefix="embedlab-langchain-")
                weakref.finalize(self, shutil.rmtree, path, True)
            self._db = embedlab.Database(path)
            if self._name in {info.name for info in self._db.list_collections()}:
                self._collection = self._db.get_collection(self._name)

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @property
    def collection(self) -> embedlab.Collection | None:
        """The collection (None until the first add created it)."""
        return self._collection

    def close(self) -> None:
        """Close the database this store opened (not a collection it was given)."""
        if self._db is not None:
            self._db.close()

    # -- writing --------------------------------------------------------------------------
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store texts (replacing stored rows with the same ids); return the ids."""
        items = list(texts)
        if not items:
            return []
        keys = [key or str(uuid.uuid4()) for key in ids] if ids else []
        keys += [str(uuid.uuid4()) for _ in range(len(items) - len(keys))]
        vectors = np.asarray(self._embedding.embed_documents(items), dtype=np.float32)
        col = self._writable(vectors.shape[1])
        col.upsert(keys, vectors, metadata=metadatas, documents=items)
        return keys

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete by ids (unknown ids are ignored) or by ``where=``; True when done."""
        if self._collection is None:
            return True
        self._collection.delete(ids, where=kwargs.get("where"))
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids (unknown ids are left out)."""
        if self._collection is None or not ids:
            return []
        found = self._collection.get(list(ids), include=("metadata", "documents"))
        return [_document(key, doc, meta) for key, _, meta, doc, _ in found]

    # -- searching ------------------------------------------------------------------------
    def similarity_search(
        self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The k documents nearest to the query text."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """The k nearest documents with embedlab's distance (lower is nearer)."""
        vector = self._embedding.embed_query(query)
        return self._search(vector, k, filter)

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The k documents nearest to a vector."""
        return [doc for doc, _ in self._search(embedding, k, filter)]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """k documents chosen among the fetch_k nearest for relevance and diversity."""
        vector = self._embedding.embed_query(query)
        return self.max_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, **kwargs
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        **kwargs: Any,
    ) -> list[Document]:
        """As :meth:`max_marginal_relevance_search`, from a vector."""
        col = self._collection
        if col is None or col.count() == 0:
            return []
        include = ("metadata", "documents", "vectors")
        found = col.query(embedding, k=fetch_k, where=kwargs.get("filter"), include=include)
        if not len(found):
            return []
        vectors: list[list[float]] = np.asarray(found.vectors, dtype=np.float64).tolist()
        chosen = maximal_marginal_relevance(
            np.asarray(embedding, dtype=np.float64), vectors, lambda_mult=lambda_mult, k=k
        )
        return [_document(found.ids[i], found[i].document, found[i].metadata) for i in chosen]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        metric = self._collection.metric if self._collection is not None else self._metric
        if metric == "cosine":
            return self._cosine_relevance_score_fn
        if metric == "euclidean":
            return self._euclidean_relevance_score_fn
        if metric == "dot":  # embedlab's dot distance is 1 - dot
            return lambda distance: 1.0 - distance
        raise NotImplementedError(f"no relevance score for the {metric!r} metric")

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> EmbedlabVectorStore:
        """A store (``path=``, ``collection_name=``, ... as for the constructor) holding texts."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    # -- internals ------------------------------------------------------------------------
    def _writable(self, dim: int) -> embedlab.Collection:
        if self._collection is None:
            if self._db is None:  # pragma: no cover - one of the two is always set
                raise InvalidParameterError("the store has no database")
            self._collection = self._db.get_or_create_collection(
                self._name, dim=dim, metric=self._metric, index=self._index
            )
        return self._collection

    def _search(
        self, vector: Sequence[float], k: int, where: Mapping[str, Any] | None
    ) -> list[tuple[Document, float]]:
        col = self._collection
        if col is None or col.count() == 0:
            return []
        found = col.query(list(vector), k=k, where=where, include=("metadata", "documents"))
        return [
            (_document(key, doc, meta), float(distance))
            for key, distance, meta, doc, _ in found
            if distance is not None
        ]


def _document(key: str, text: str | None, metadata: Mapping[str, Any] | None) -> Document:
    return Document(id=key, page_content=text or "", metadata=dict(metadata or {}))

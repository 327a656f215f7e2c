"""Chroma's call forms on :class:`~embedlab.store.Collection`, read once into embedlab's.

Chroma code writes ``col.add(ids=..., embeddings=..., metadatas=..., documents=...)`` and
``col.query(query_embeddings=... | query_texts=..., n_results=5, where=..., include=[...])``
and reads ``results["documents"][0]``. Here:

- ``embeddings`` / ``metadatas`` are ``vectors`` / ``metadata``; one str id is one row.
- Documents without vectors are embedded by the collection's encoder: its ``model`` name
  loaded by :func:`embedlab.encoders.load` (a collection created without a dimension and
  without a model gets ``minilm``, all-MiniLM-L6-v2, which is Chroma's default too).
- ``query_texts`` go through the same encoder. A query in Chroma's form answers a
  :class:`QueryResults`: a list of :class:`QueryResult` (one per query) that also reads as
  Chroma's dict of lists (``results["ids"][0]``, ``results.to_dict()``).
- ``where={"#document": {"$contains": ...}}`` (Chroma 1.x) is moved to ``where_document``
  when it is ANDed at the top of the filter; anywhere else ``#`` keys are refused by the
  filter parser rather than matching nothing.
- What embedlab has no equivalent for (``uris``, ``images``, ``include=["uris"]``) is an
  :class:`~embedlab.errors.UnsupportedOptionError` naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.errors import InvalidFilterError, InvalidParameterError, UnsupportedOptionError
from embedlab.store._inputs import check_name
from embedlab.store.results import GetResult, QueryResult

if TYPE_CHECKING:
    from embedlab.encoders.base import Encoder
    from embedlab.store.collection import Collection

__all__ = [
    "DEFAULT_ENCODER",
    "QueryResults",
    "chroma_dict",
    "encoder_for",
    "modify_args",
    "query_args",
    "split_document_keys",
    "write_args",
]

DEFAULT_ENCODER = "minilm"
"""The encoder of a collection created without a dimension or model (Chroma's default
embedding function is all-MiniLM-L6-v2 as well)."""

_CHROMA_NAMES = {"metadata": "metadatas", "vectors": "embeddings"}


def _alias(name: str, ours: Any, theirs: Any, their_name: str) -> Any:
    """embedlab's argument or Chroma's, not both."""
    if ours is not None and theirs is not None:
        raise InvalidParameterError(f"give {name} or {their_name} (Chroma's name for it), not both")
    return theirs if ours is None else ours


def _refuse(options: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if options.get(name) is not None:
            raise UnsupportedOptionError(
                f"{name}= is a Chroma option embedlab does not have; store the data as "
                "documents or metadata"
            )


@functools.lru_cache(maxsize=4)
def _load_encoder(spec: str) -> Encoder:
    from embedlab.encoders import load

    return load(spec)


def encoder_for(collection: Collection | None, model: str | None) -> Encoder:
    """The encoder that embeds documents and query texts for a collection's model."""
    if model is None:
        name = collection.name if collection is not None else "?"
        raise InvalidParameterError(
            f"collection {name!r} has no encoder to embed texts: pass embeddings (vectors) "
            "or create the collection with model='minilm' (or another encoder spec)"
        )
    try:
        return _load_encoder(model)
    except InvalidParameterError as exc:
        raise InvalidParameterError(
            f"the collection's model {model!r} is not an encoder embedlab can load, so texts "
            f"cannot be embedded; pass embeddings instead ({exc})"
        ) from None


def write_args(
    model: str | None,
    ids: Any,
    vectors: Any,
    metadata: Any,
    documents: Any,
    options: Mapping[str, Any],
    *,
    collection: Collection | None = None,
) -> tuple[Any, Any, Any, Any]:
    """``(ids, vectors, metadata, documents)`` of an add / upsert in either form.

    Example:
        >>> write_args(None, "a", None, None, None, {"embeddings": [[1.0, 0.0]]})
        (['a'], [[1.0, 0.0]], None, None)
    """
    unknown = set(options) - {"embeddings", "metadatas", "uris", "images"}
    if unknown:
        raise InvalidParameterError(
            f"unknown option {sorted(unknown)[0]!r}; add/upsert take ids, vectors (or "
            "embeddings), metadata (or metadatas), documents, model"
        )
    _refuse(options, "uris", "images")
    vectors = _alias("vectors", vectors, options.get("embeddings"), "embeddings")
    metadata = _alias("metadata", metadata, options.get("metadatas"), "metadatas")
    if isinstance(ids, str):  # Chroma: one id, one row
        ids = [ids]
        metadata = [metadata] if isinstance(metadata, Mapping) else metadata
        documents = [documents] if isinstance(documents, str) else documents
        if vectors is not None and np.ndim(vectors) == 1:
            vectors = [vectors]
    if vectors is None and documents is not None and isinstance(ids, list | tuple):
        texts = [documents] if isinstance(documents, str) else list(documents)
        if any(not isinstance(t, str) for t in texts):
            raise InvalidParameterError(
                "documents without vectors are embedded, so every document must be a str; "
                f"got {next(t for t in texts if not isinstance(t, str))!r}"
            )
        vectors = encoder_for(collection, model).encode(texts)
    return ids, vectors, metadata, documents


def query_args(
    collection: Collection, queries: Any, k: Any, options: dict[str, Any]
) -> tuple[Any, Any, bool]:
    """``(queries, k, chroma_form)``: the query vectors (texts embedded) and the count.

    ``options`` loses the Chroma names it held.
    """
    embeddings = options.pop("query_embeddings", None)
    texts = options.pop("query_texts", None)
    n_results = options.pop("n_results", None)
    _refuse(options, "query_uris", "query_images")
    options.pop("query_uris", None)
    options.pop("query_images", None)
    unknown = set(options) - {"where", "where_document", "include"}
    if unknown:
        raise InvalidParameterError(
            f"query() got an unknown option {sorted(unknown)[0]!r}; Chroma's query_embeddings, "
            "query_texts and n_results work besides embedlab's own"
        )
    chroma = embeddings is not None or texts is not None or n_results is not None
    given = [q for q in (queries, embeddings, texts) if q is not None]
    if len(given) != 1:
        raise InvalidParameterError(
            "query() takes one of queries (vectors), query_embeddings or query_texts; "
            f"got {len(given)}"
        )
    k = _alias("k", k, n_results, "n_results")
    if texts is not None:
        items = [texts] if isinstance(texts, str) else list(texts)
        queries = encoder_for(collection, collection.model).encode(items)
    elif embeddings is not None:
        queries = embeddings
        if chroma and np.ndim(queries) == 1:  # Chroma nests one vector's results too
            queries = [queries]
    include = options.get("include")
    if include is not None:
        names = [include] if isinstance(include, str) else list(include)
        _refuse({n: True for n in names if n in ("uris", "data")}, "uris", "data")
    where, where_document = split_document_keys(options.get("where"), options.get("where_document"))
    options["where"], options["where_document"] = where, where_document
    return queries, (10 if k is None else k), chroma


def modify_args(
    collection: Collection, name: Any, metadata: Any, options: Mapping[str, Any]
) -> str | None:
    """Chroma's ``modify``: the new name to give (None: keep it); collection metadata and
    other options are refused by name (nothing is changed)."""
    if metadata:
        raise UnsupportedOptionError(
            "modify(metadata=...): embedlab collections have no metadata of their own; "
            "their settings (dim, metric, index, model) are fixed at creation"
        )
    for option, value in options.items():
        if value is not None:
            raise UnsupportedOptionError(f"modify({option}=...) is not supported")
    if name is None or name == collection.name:
        return None
    return check_name(name)


def split_document_keys(where: Any, where_document: Any) -> tuple[Any, Any]:
    """Move Chroma 1.x's ``where={"#document": {...}}`` (ANDed at the top, directly or in a
    top-level ``$and``) into ``where_document``.

    Example:
        >>> split_document_keys({"#document": {"$contains": "x"}, "n": 1}, None)
        ({'n': 1}, {'$contains': 'x'})
    """
    if not isinstance(where, Mapping):
        return where, where_document
    moved: list[Any] = []
    rest: dict[str, Any] = {}
    for key, value in where.items():
        if key == "#document":
            moved.append(value)
        elif key == "$and" and isinstance(value, list):
            kept = []
            for child in value:
                if isinstance(child, Mapping) and set(child) == {"#document"}:
                    moved.append(child["#document"])
                else:
                    kept.append(child)
            if kept:
                rest["$and"] = kept
        else:
            rest[key] = value
    if not moved:
        return where, where_document
    if where_document:
        moved.append(where_document)
    combined = moved[0] if len(moved) == 1 else {"$and": moved}
    return (rest or None), combined


def check_filter_key(key: str, path: str) -> None:
    """Refuse Chroma's ``#`` keys where they cannot be honoured (they would match nothing)."""
    if key.startswith("#"):
        raise InvalidFilterError(
            f"{path}: {key!r} is a Chroma special key; embedlab reads {{'#document': ...}} "
            "only ANDed at the top of where (or use where_document); metadata keys cannot "
            "start with '#'"
        )


def chroma_dict(result: GetResult, *, nested: bool) -> dict[str, Any]:
    """A result in Chroma's dict-of-lists shape (``nested``: one more list level, as
    Chroma's query answers)."""
    out: dict[str, Any] = {"ids": list(result.ids)}
    included = []
    for ours, theirs in (
        ("metadata", "metadatas"),
        ("documents", "documents"),
        ("vectors", "embeddings"),
    ):
        value = getattr(result, ours)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        out[theirs] = None if value is None else list(value)
        if value is not None:
            included.append(theirs)
    if isinstance(result, QueryResult):
        out["distances"] = result.distances.tolist()
        included.append("distances")
    if nested:
        out = {key: None if value is None else [value] for key, value in out.items()}
    out["uris"] = out["data"] = None
    out["included"] = included
    return out


class QueryResults(list[QueryResult]):
    """The answers to a query in Chroma's form: one :class:`QueryResult` per query, and
    Chroma's dict of lists by key (``results["documents"][0]``) or ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        """Chroma's query-result shape: each field a list with one list per query."""
        parts = [chroma_dict(r, nested=False) for r in self]
        fields = ("ids", "distances", "metadatas", "documents", "embeddings")
        out: dict[str, Any] = {}
        for name in fields:
            values = [p.get(name) for p in parts]
            out[name] = None if not parts or values[0] is None else values
        out["uris"] = out["data"] = None
        out["included"] = parts[0]["included"] if parts else []
        return out

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.to_dict()[key]
        return super().__getitem__(key)

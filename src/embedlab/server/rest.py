"""REST for collections: the embedded :class:`~embedlab.store.Database` API over HTTP.

Each route is one library call; the library checks the values (so a bad request gets the
same message as the same mistake made in-process), and ``errors.py`` picks the status.
Bodies take what the library takes: lists of floats for vectors, filter objects for
``where`` / ``where_document``, the same ``include`` names. A ``query`` may send ``texts``
instead of vectors: they are embedded here with the model the collection records.

    GET    /v1/collections                     list
    POST   /v1/collections                     create (or get_or_create)
    GET    /v1/collections/{name}              info
    DELETE /v1/collections/{name}              drop
    POST   /v1/collections/{name}/rename       rename ({"name": new})
    POST   /v1/collections/{name}/add|upsert|update|delete|get|query|keyword
    POST   /v1/collections/{name}/compact|verify|rebuild-index|save-index|wait-for-index
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from embedlab.errors import InvalidParameterError
from embedlab.server.errors import LimitExceededError, PayloadTooLargeError
from embedlab.server.hub import Hub, hub_of
from embedlab.store import GetResult

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections", tags=["collections"])
HubDep = Annotated[Hub, Depends(hub_of)]
_INCLUDE = ["metadata", "documents"]


class CreateBody(BaseModel):
    name: Any
    dim: Any
    metric: Any = "cosine"
    index: Any = "hnsw"
    index_params: Any = None
    model: Any = None
    get_or_create: bool = False


class RowsBody(BaseModel):
    ids: Any
    vectors: Any = Field(default=None, description="Omit to embed the documents here.")
    metadata: Any = None
    documents: Any = None
    model: Any = None


class UpdateBody(BaseModel):
    ids: Any
    vectors: Any = None
    metadata: Any = None
    documents: Any = None
    model: Any = None


class DeleteBody(BaseModel):
    ids: Any = None
    where: Any = None
    where_document: Any = None


class GetBody(BaseModel):
    ids: Any = None
    where: Any = None
    where_document: Any = None
    limit: Any = None
    offset: Any = 0
    include: Any = Field(default_factory=lambda: list(_INCLUDE))


class QueryBody(BaseModel):
    queries: Any = Field(default=None, description="One vector, or a list of vectors.")
    texts: list[str] | None = Field(default=None, description="Texts to embed and query with.")
    k: Any = 10
    where: Any = None
    where_document: Any = None
    max_distance: Any = None
    include: Any = Field(default_factory=lambda: list(_INCLUDE))
    search_params: Any = None
    exact_threshold: Any = None
    model: Any = None


class KeywordBody(BaseModel):
    text: Any
    k: Any = 10
    where: Any = None
    where_document: Any = None
    include: Any = Field(default_factory=lambda: list(_INCLUDE))


@router.get("")
def list_collections(hub: HubDep) -> dict[str, Any]:
    """Every collection's settings and live row count."""
    return {"collections": [dataclasses.asdict(info) for info in hub.db.list_collections()]}


@router.post("", status_code=201)
def create_collection(body: CreateBody, hub: HubDep) -> dict[str, Any]:
    """A new collection (or, with ``get_or_create``, the existing one if its settings agree)."""
    if isinstance(body.dim, int) and body.dim > hub.limits.max_dim:
        raise LimitExceededError(
            f"The 'dim' parameter must be an int in the range [1, {hub.limits.max_dim}]. "
            f"Got {body.dim} instead."
        )
    make = hub.db.get_or_create_collection if body.get_or_create else hub.db.create_collection
    col = make(
        body.name,
        dim=body.dim,
        metric=body.metric,
        index=body.index,
        index_params=body.index_params,
        model=body.model,
    )
    return dataclasses.asdict(col.info())


@router.get("/{name}")
def collection_info(name: str, hub: HubDep) -> dict[str, Any]:
    """A collection's settings and live row count."""
    return dataclasses.asdict(hub.db.get_collection(name).info())


class RenameBody(BaseModel):
    name: Any


@router.post("/{name}/rename")
def rename_collection(name: str, body: RenameBody, hub: HubDep) -> dict[str, Any]:
    """Give a collection a new name (409 if taken); answers its info under the new name."""
    hub.db.rename_collection(name, body.name)
    return dataclasses.asdict(hub.db.get_collection(body.name).info())


@router.delete("/{name}")
def drop_collection(name: str, hub: HubDep) -> dict[str, Any]:
    """Remove a collection and everything in it."""
    hub.db.delete_collection(name)
    return {"deleted": name}


@router.post("/{name}/add")
async def add(name: str, body: RowsBody, hub: HubDep) -> dict[str, Any]:
    """Add new rows (an id already stored is a 409); without vectors, the documents are
    embedded here with the collection's model."""
    col = await run_in_threadpool(hub.db.get_collection, name)
    _check_metadata(body.metadata, hub)
    vectors, model = await _vectors_of(body, col, hub)
    await run_in_threadpool(
        lambda: col.add(body.ids, vectors, body.metadata, body.documents, model=model)
    )
    return {"count": len(body.ids)}


@router.post("/{name}/upsert")
async def upsert(name: str, body: RowsBody, hub: HubDep) -> dict[str, Any]:
    """Add rows, replacing those whose id is stored (documents embedded as for add)."""
    col = await run_in_threadpool(hub.db.get_collection, name)
    _check_metadata(body.metadata, hub)
    vectors, model = await _vectors_of(body, col, hub)
    await run_in_threadpool(
        lambda: col.upsert(body.ids, vectors, body.metadata, body.documents, model=model)
    )
    return {"count": len(body.ids)}


async def _vectors_of(body: RowsBody, col: Any, hub: Hub) -> tuple[Any, Any]:
    """The body's vectors, or its documents embedded by the collection's served model."""
    if body.vectors is not None:
        return body.vectors, body.model
    documents = body.documents
    if not isinstance(documents, list) or not documents:
        raise InvalidParameterError(
            "rows need vectors, or documents (a list of texts) to embed with the collection's "
            f"model; got vectors=None and documents={documents!r:.60}"
        )
    missing = [i for i, text in enumerate(documents) if not isinstance(text, str)]
    if missing:
        raise InvalidParameterError(
            f"to embed documents every row needs a text; rows {missing[:10]} have none"
        )
    if len(documents) > hub.limits.max_inputs:
        raise LimitExceededError(
            f"documents holds {len(documents)} texts to embed; this server embeds at most "
            f"{hub.limits.max_inputs} per request"
        )
    served, batcher = hub.model_for(col)
    return await batcher.encode(documents, kind="text"), served.name


@router.post("/{name}/update")
def update(name: str, body: UpdateBody, hub: HubDep) -> dict[str, Any]:
    """Change stored rows (metadata merged, a key given as null removed)."""
    col = hub.db.get_collection(name)
    _check_metadata(body.metadata, hub)
    col.update(
        body.ids,
        vectors=body.vectors,
        metadata=body.metadata,
        documents=body.documents,
        model=body.model,
    )
    return {"count": len(body.ids)}


@router.post("/{name}/delete")
def delete(name: str, body: DeleteBody, hub: HubDep) -> dict[str, Any]:
    """Delete rows by id and/or filter; answers how many."""
    col = hub.db.get_collection(name)
    return {"deleted": col.delete(body.ids, where=body.where, where_document=body.where_document)}


@router.post("/{name}/compact")
def compact(name: str, hub: HubDep) -> dict[str, Any]:
    """Drop deleted rows for good and rebuild the index; answers how many were dropped."""
    return {"purged": hub.db.get_collection(name).compact()}


@router.post("/{name}/verify")
def verify(name: str, hub: HubDep) -> dict[str, Any]:
    """Check the stored rows, the index file and the in-memory index against each other."""
    report = hub.db.get_collection(name).verify()
    return {**dataclasses.asdict(report), "ok": report.ok}


@router.post("/{name}/rebuild-index")
def rebuild_index(name: str, hub: HubDep) -> dict[str, Any]:
    """Build the ANN index again from the stored rows and save it."""
    hub.db.get_collection(name).rebuild_index()
    return {"rebuilt": name}


@router.post("/{name}/save-index")
def save_index(name: str, hub: HubDep) -> dict[str, Any]:
    """Finish indexing and write the index file now."""
    hub.db.get_collection(name).save_index()
    return {"saved": name}


@router.post("/{name}/wait-for-index")
def wait_for_index(name: str, hub: HubDep) -> dict[str, Any]:
    """Answer once every stored row is in the ANN index (a worker thread waits)."""
    hub.db.get_collection(name).wait_for_index()
    return {"indexed": name}


@router.post("/{name}/get")
def get(name: str, body: GetBody, hub: HubDep) -> dict[str, Any]:
    """Rows by id or filter, paged."""
    col = hub.db.get_collection(name)
    found = col.get(
        body.ids,
        where=body.where,
        where_document=body.where_document,
        limit=body.limit,
        offset=body.offset,
        include=body.include,
    )
    return result_json(found)


@router.post("/{name}/query")
async def query(name: str, body: QueryBody, hub: HubDep) -> dict[str, Any]:
    """Nearest rows to each query vector (or to each text, embedded here)."""
    col = await run_in_threadpool(hub.db.get_collection, name)
    queries = body.queries
    model = body.model
    if body.texts is not None:
        if queries is not None:
            raise InvalidParameterError("send either queries (vectors) or texts, not both")
        if not body.texts:
            raise InvalidParameterError("texts must hold at least one text")
        if len(body.texts) > hub.limits.max_inputs:
            raise LimitExceededError(
                f"texts holds {len(body.texts)} items; this server embeds at most "
                f"{hub.limits.max_inputs} per request"
            )
        served, batcher = hub.model_for(col)
        queries = await batcher.encode(body.texts, kind="query")
        model = served.name
    if queries is None:
        raise InvalidParameterError("query needs queries (vectors) or texts")
    check_k(body.k, hub)
    options: dict[str, Any] = {
        "where": body.where,
        "where_document": body.where_document,
        "max_distance": body.max_distance,
        "include": body.include,
        "search_params": body.search_params,
        "model": model,
    }
    if body.exact_threshold is not None:
        options["exact_threshold"] = body.exact_threshold
    found = await run_in_threadpool(lambda: col.query(queries, k=body.k, **options))
    if isinstance(found, list):
        return {"results": [result_json(r) for r in found]}
    return {"result": result_json(found)}


@router.post("/{name}/keyword")
def keyword(name: str, body: KeywordBody, hub: HubDep) -> dict[str, Any]:
    """The best BM25 matches of the words of ``text``."""
    col = hub.db.get_collection(name)
    check_k(body.k, hub)
    found = col.keyword_query(
        body.text,
        k=body.k,
        where=body.where,
        where_document=body.where_document,
        include=body.include,
    )
    return {"result": result_json(found)}


def result_json(result: GetResult) -> dict[str, Any]:
    """A result as JSON (float32 values survive JSON exactly as doubles)."""
    return result.to_dict()


def check_k(k: Any, hub: Hub) -> None:
    """A k over the server's limit is a 422 (the library checks the rest)."""
    limit = hub.limits.max_k
    if isinstance(k, int) and not isinstance(k, bool) and k > limit:
        raise LimitExceededError(
            f"The 'k' parameter must be an int in the range [1, {limit}]. Got {k} instead."
        )


def _check_metadata(metadata: Any, hub: Hub) -> None:
    if not isinstance(metadata, list):
        return
    limit = hub.limits.max_metadata_bytes
    for i, meta in enumerate(metadata):
        if isinstance(meta, Mapping):
            size = len(json.dumps(meta, ensure_ascii=False).encode())
            if size > limit:
                raise PayloadTooLargeError(
                    f"metadata[{i}] is {size} bytes as JSON; this server takes at most {limit}"
                )

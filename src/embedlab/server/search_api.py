"""Text search over a collection and ingestion of uploaded files.

``POST /v1/collections/{name}/search`` is :func:`embedlab.search.search` (vector, keyword
or hybrid, optionally grouped); the query is embedded here, through the micro-batcher,
with the model the collection records, and each hit carries a highlighted snippet.

``POST /v1/collections/{name}/ingest`` takes files (multipart) and runs
:func:`embedlab.ingest.index_paths` on them. The files are kept under the database folder
(``uploads/<collection>/<file name>``), so uploading a file again under the same name
replaces its chunks, as re-indexing a changed file does in the library.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from embedlab.errors import CollectionNotFoundError, InvalidParameterError
from embedlab.search import SearchMode, highlight, search
from embedlab.server.errors import PayloadTooLargeError
from embedlab.server.hub import Hub, hub_of
from embedlab.server.rest import check_k

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections", tags=["search"])
HubDep = Annotated[Hub, Depends(hub_of)]


class SearchBody(BaseModel):
    query: Any
    mode: Any = "hybrid"
    k: Any = 10
    where: Any = None
    depth: Any = 50
    rrf_k: Any = 5
    vector_weight: Any = 1.0
    keyword_weight: Any = 0.8
    group_by: Any = None
    snippet_chars: int = 240


class _Fixed:
    """An encoder that answers with a vector already computed (by the batcher)."""

    def __init__(self, name: str, vector: npt.NDArray[np.float32]) -> None:
        self.name = name
        self.dim = int(vector.shape[-1])
        self.max_tokens: int | None = None
        self._vector = vector.reshape(1, -1)

    def encode(self, texts: Sequence[str], **options: Any) -> npt.NDArray[np.float32]:
        return np.repeat(self._vector, len(texts), axis=0)


@router.post("/{name}/search")
async def search_collection(name: str, body: SearchBody, hub: HubDep) -> dict[str, Any]:
    """Ranked hits for a text query, with scores, metadata and highlighted snippets."""
    col = await run_in_threadpool(hub.db.get_collection, name)
    mode = SearchMode.parse(body.mode, name="mode")
    check_k(body.k, hub)
    encoder = None
    if mode is not SearchMode.KEYWORD and isinstance(body.query, str) and body.query.strip():
        served, batcher = hub.model_for(col)
        vector = await batcher.encode([body.query], kind="query")
        encoder = _Fixed(served.name, vector[0])
    hits = await run_in_threadpool(
        lambda: search(
            col,
            body.query,
            encoder=encoder,
            mode=mode,
            k=body.k,
            where=body.where,
            depth=body.depth,
            rrf_k=body.rrf_k,
            vector_weight=body.vector_weight,
            keyword_weight=body.keyword_weight,
            group_by=body.group_by,
        )
    )
    out = []
    for hit in hits:
        snippet, spans = highlight(hit.document or "", body.query, width=body.snippet_chars)
        out.append(
            {
                "id": hit.id,
                "score": hit.score,
                "document": hit.document,
                "metadata": hit.metadata,
                "vector_rank": hit.vector_rank,
                "keyword_rank": hit.keyword_rank,
                "snippet": snippet,
                "highlights": spans,
            }
        )
    return {"collection": name, "mode": mode.value, "hits": out}


@router.post("/{name}/ingest")
async def ingest_files(
    name: str,
    hub: HubDep,
    files: Annotated[list[UploadFile], File(description="Text, Markdown, HTML or PDF files.")],
    model: Annotated[str | None, Form()] = None,
    chunk_tokens: Annotated[int, Form(ge=1)] = 128,
    overlap: Annotated[int, Form(ge=0)] = 16,
) -> dict[str, Any]:
    """Chunk, embed and store uploaded files (the collection is created if missing)."""
    from embedlab.ingest import index_paths

    try:
        col = await run_in_threadpool(hub.db.get_collection, name)
        served, batcher = hub.model_for(col)
    except CollectionNotFoundError:
        served, batcher = hub.model(model)
    # Uploads sit in the database folder (a PostgreSQL database has none: the temp folder).
    base = hub.db.path if hub.db.path is not None else Path(tempfile.gettempdir()) / "embedlab"
    folder = base / "uploads" / hashlib.sha256(name.encode()).hexdigest()[:16]
    limit = hub.limits.max_upload_bytes
    saved: list[Path] = []
    total = 0
    contents = []
    for upload in files:
        data = await upload.read(limit + 1 - total)
        total += len(data)
        if total > limit:
            raise PayloadTooLargeError(
                f"the uploaded files hold more than {limit} bytes; this server takes at most "
                f"{limit} per request"
            )
        contents.append((_file_name(upload.filename), data))
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, data in contents:
        path = folder / file_name
        path.write_bytes(data)
        saved.append(path)
    report = await batcher.exclusive(
        lambda: index_paths(
            saved,
            hub.db,
            name,
            served.encoder,
            chunk_tokens=chunk_tokens,
            overlap=overlap,
            progress=False,
        )
    )
    return report.to_dict()


def _file_name(raw: str | None) -> str:
    """An uploaded file's base name, refused if empty, hidden or not a plain name."""
    name = raw or ""
    plain = name and not name.startswith(".") and len(name) <= 200
    if not plain or any(c in "/\\" or ord(c) < 32 for c in name):
        raise InvalidParameterError(f"an uploaded file needs a plain file name; got {raw!r}")
    return name

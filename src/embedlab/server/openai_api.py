"""OpenAI-compatible ``POST /v1/embeddings`` and ``GET /v1/models``.

As OpenAI: ``input`` is a string, a list of strings, a list of token ids or a list of
those; ``encoding_format`` is ``float`` or ``base64`` (little-endian float32 bytes);
``dimensions`` is honoured exactly or refused (see :mod:`embedlab.server.served`);
``usage`` counts the model's tokens (special tokens not counted). Beyond OpenAI, the
answer's ``embedlab`` field says how many inputs were longer than the model's window
(those are split into windows whose vectors are averaged, the library's rule).
"""

from __future__ import annotations

import base64
import time
from typing import Annotated, Any, Literal

import numpy as np

try:
    import orjson
except ImportError:  # pragma: no cover - orjson comes with the server extra
    orjson = None  # type: ignore[assignment]
from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from embedlab.errors import InvalidParameterError
from embedlab.server.errors import LimitExceededError
from embedlab.server.hub import Hub, hub_of

__all__ = ["router"]

router = APIRouter(tags=["openai"])
_STARTED = int(time.time())
_INLINE_CHARS = 4096
"""Texts up to this many characters in all are counted on the event loop."""

TokenIds = list[Annotated[int, Field(ge=0)]]


class EmbeddingRequest(BaseModel):
    """The body of ``POST /v1/embeddings`` (OpenAI's fields)."""

    input: str | list[str] | TokenIds | list[TokenIds]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class WindowReport(BaseModel):
    """How many inputs were longer than the model reads in one pass (pooled windows)."""

    window_tokens: int | None
    inputs_over_window: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage
    embedlab: WindowReport


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "embedlab"
    dimensions: int
    matryoshka: bool


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@router.post("/v1/embeddings", response_model=EmbeddingResponse)
async def create_embeddings(
    body: EmbeddingRequest, hub: Annotated[Hub, Depends(hub_of)]
) -> Response:
    """Embed the inputs (OpenAI's embeddings protocol)."""
    served, batcher = hub.model(body.model)
    size = served.check_dimensions(body.dimensions)
    kind, inputs = _inputs(body.input)
    limits = hub.limits
    if len(inputs) > limits.max_inputs:
        raise LimitExceededError(
            f"input holds {len(inputs)} items; this server takes at most {limits.max_inputs} "
            "per request"
        )
    if kind == "text":
        if sum(len(text) for text in inputs) <= _INLINE_CHARS:  # ~0.1 ms: a thread hop costs more
            counts = served.count_tokens(inputs)
        else:
            counts = await run_in_threadpool(served.count_tokens, inputs)
    else:
        served.check_token_ids(inputs)
        counts = [len(ids) for ids in inputs]
    tokens = sum(counts)
    if tokens > limits.max_tokens:
        raise LimitExceededError(
            f"input holds {tokens} tokens; this server takes at most {limits.max_tokens} "
            "per request"
        )
    window = served.window
    over = 0 if window is None else sum(count > window for count in counts)
    encoded = await batcher.encode(inputs, kind=kind, tokens=tokens, lengths=counts)
    vectors = served.shape(encoded, size)
    answer = {  # built by hand: validating thousands of floats would cost more than encoding
        "object": "list",
        "data": _items(vectors, body.encoding_format),
        "model": served.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        "embedlab": {"window_tokens": window, "inputs_over_window": over},
    }
    return _json(answer)


@router.get("/v1/models", response_model=ModelList)
def list_models(hub: Annotated[Hub, Depends(hub_of)]) -> dict[str, Any]:
    """The models this server embeds with."""
    cards = [
        {"id": name, "created": _STARTED, "dimensions": m.dim, "matryoshka": m.matryoshka}
        for name, m in hub.models.items()
    ]
    return {"object": "list", "data": cards}


def _inputs(raw: Any) -> tuple[str, list[Any]]:
    """("text", strings) or ("ids", token id lists) from OpenAI's four input shapes."""
    if isinstance(raw, str):
        return "text", [raw]
    if not raw:
        raise InvalidParameterError("input must not be empty")
    if all(isinstance(item, int) for item in raw):
        return "ids", [raw]
    if all(isinstance(item, str) for item in raw):
        return "text", list(raw)
    return "ids", list(raw)


def _json(answer: dict[str, Any]) -> Response:
    """The answer as JSON: with orjson when installed (floats written ~10x faster than by
    the json module; the same shortest round-trip digits), else with the json module."""
    if orjson is None:
        return JSONResponse(answer)
    return Response(orjson.dumps(answer), media_type="application/json")


def _items(vectors: np.ndarray, encoding: str) -> list[dict[str, Any]]:
    if encoding == "base64":
        rows = np.ascontiguousarray(vectors, dtype="<f4")
        return [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(row.tobytes()).decode(),
            }
            for i, row in enumerate(rows)
        ]
    return [
        {"object": "embedding", "index": i, "embedding": row}
        for i, row in enumerate(vectors.tolist())
    ]

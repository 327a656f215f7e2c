"""The HTTP server: OpenAI-compatible embeddings, the store's REST API, a search page.

Modules, one concept each (the server is a thin adapter over library calls)::

    settings.py     Limits and ServerSettings (frozen; what the CLI fills in)
    errors.py       the one place library errors become HTTP statuses and JSON bodies
    guard.py        API-key check, request-body limit, the loopback rule
    served.py       the model the server embeds with: token counts, windows, dimensions
    batcher.py      micro-batching of concurrent encode requests
    telemetry.py    counters and histograms for GET /metrics (Prometheus text)
    openai_api.py   POST /v1/embeddings, GET /v1/models
    rest.py         collections and their rows (create, add, query, ...)
    search_api.py   text search (vector / keyword / hybrid) and file ingestion
    app.py          create_app(): the FastAPI application, its lifespan, /healthz, the page
    run.py          serve(): uvicorn with a clean SIGTERM shutdown
    client.py       Client: the embedded Database's interface over HTTP (needs only httpx2)

Only ``client`` is imported without the ``server`` extra (fastapi, uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedlab.server.app import create_app
    from embedlab.server.client import Client
    from embedlab.server.run import serve
    from embedlab.server.settings import Limits, ServerSettings

__all__ = ["Client", "Limits", "ServerSettings", "create_app", "serve"]

_WHERE = {
    "Client": "embedlab.server.client",
    "Limits": "embedlab.server.settings",
    "ServerSettings": "embedlab.server.settings",
    "create_app": "embedlab.server.app",
    "serve": "embedlab.server.run",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'embedlab.server' has no attribute {name!r}")

"""``create_app``: the FastAPI application over one database and one or more models.

Its lifespan starts one micro-batcher per model and, on shutdown (uvicorn's answer to
SIGTERM, after in-flight requests finish), drains the batchers and closes the database.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, PlainTextResponse

import embedlab
from embedlab.encoders.base import Encoder
from embedlab.server import map_api, openai_api, rest, search_api
from embedlab.server.batcher import MicroBatcher
from embedlab.server.errors import install_error_handlers
from embedlab.server.guard import ASGIApp, BodyLimit, KeyCheck, Message, Receive, Scope, Send
from embedlab.server.hub import Hub, hub_of
from embedlab.server.served import ServedModel
from embedlab.server.settings import ServerSettings
from embedlab.server.telemetry import Telemetry
from embedlab.store import Database

__all__ = ["create_app"]


def create_app(
    db: Database,
    encoders: Mapping[str, Encoder] | None = None,
    settings: ServerSettings | None = None,
    *,
    close_db: bool = True,
) -> FastAPI:
    """The server's application: ``db`` served over REST, ``encoders`` (name -> encoder)
    over ``/v1/embeddings`` and for text queries. The database is closed on shutdown
    unless ``close_db=False``.

    Example:
        >>> import tempfile, embedlab
        >>> from embedlab.server import create_app
        >>> app = create_app(embedlab.Database(tempfile.mkdtemp()), {})
        >>> "/v1/embeddings" in app.openapi()["paths"]
        True
    """
    settings = settings or ServerSettings()
    models = {
        name: ServedModel(name, encoder, matryoshka=name in settings.matryoshka)
        for name, encoder in (encoders or {}).items()
    }
    telemetry = Telemetry()
    hub = Hub(db=db, models=models, limits=settings.limits, telemetry=telemetry)
    for name, served in models.items():
        hub.batchers[name] = MicroBatcher(
            served,
            wait_ms=settings.batch_wait_ms,
            max_inputs=settings.batch_max_inputs,
            max_tokens=settings.batch_max_tokens,
            telemetry=telemetry,
        )
    telemetry.queue_depth = lambda: sum(b.depth for b in hub.batchers.values())
    telemetry.collection_sizes = lambda: {i.name: i.count for i in db.list_collections()}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for batcher in hub.batchers.values():
            await batcher.start()
        try:
            yield
        finally:
            for batcher in hub.batchers.values():
                await batcher.stop()
            if close_db:
                db.close()

    app = FastAPI(
        title="embedlab",
        version=embedlab.__version__,
        summary="Embeddings (OpenAI-compatible), a vector store's REST API, search.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    install_error_handlers(app)
    app.include_router(openai_api.router)
    app.include_router(search_api.router)
    app.include_router(map_api.router)
    app.include_router(rest.router)
    _add_plain_routes(app)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(Measure, telemetry=telemetry)
    app.add_middleware(BodyLimit, limit=settings.limits.max_body_bytes)
    app.add_middleware(KeyCheck, key=settings.api_key)
    return app


class Measure:
    """ASGI middleware: count each request by route template and status, and time it."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            seconds = time.perf_counter() - start
            self.telemetry.request(scope["method"], route, status, seconds)


def _add_plain_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["server"])
    def healthz(hub: Annotated[Hub, Depends(hub_of)]) -> dict[str, Any]:
        """Liveness: the database answers and the models are loaded."""
        return {
            "status": "ok",
            "collections": len(hub.db.list_collections()),
            "models": list(hub.models),
        }

    @app.get("/metrics", tags=["server"], response_class=PlainTextResponse)
    def metrics(hub: Annotated[Hub, Depends(hub_of)]) -> PlainTextResponse:
        """Prometheus text: requests, latencies, batch sizes, queue depth, collection sizes."""
        return PlainTextResponse(
            hub.telemetry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    page = resources.files("embedlab.server").joinpath("static/index.html")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page.read_text(encoding="utf-8"))

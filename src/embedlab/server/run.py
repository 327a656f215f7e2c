"""``serve``: load the models, open the database, run uvicorn until SIGTERM or Ctrl-C.

uvicorn answers SIGTERM and SIGINT by refusing new connections, letting in-flight
requests finish (up to ``settings.grace`` seconds), then running the app's shutdown, which drains
the micro-batchers and closes the database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from embedlab.errors import MissingDependencyError
from embedlab.server.settings import ServerSettings

__all__ = ["serve"]


def serve(
    db: str | os.PathLike[str],
    settings: ServerSettings,
    *,
    log_level: str = "info",
) -> None:
    """Serve the database folder ``db`` until stopped (blocks).

    Example:
        >>> serve("my.db", ServerSettings(port=8000))  # doctest: +SKIP
    """
    settings.check()
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise MissingDependencyError(
            "the server needs the 'server' extra: pip install 'embedlab[server]'"
        ) from exc
    from embedlab import encoders
    from embedlab.server.app import create_app
    from embedlab.store import Database

    options: dict[str, Any] = {"backend": settings.backend}
    if settings.threads is not None and settings.backend == "onnx":
        options["threads"] = settings.threads
    loaded = {name: encoders.load(spec, **options) for name, spec in settings.models.items()}
    if settings.threads is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(settings.threads)
    database = Database(Path(db))
    app = create_app(database, loaded, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=settings.grace,
        limit_concurrency=1024,
    )
    uvicorn.Server(config).run()

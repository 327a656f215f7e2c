"""``serve``: load the models, open the database, run uvicorn until SIGTERM or Ctrl-C.

uvicorn answers SIGTERM and SIGINT by refusing new connections, letting in-flight
requests finish (up to ``grace`` seconds), then running the app's shutdown, which drains
the micro-batchers and closes the database.
"""

from __future__ import annotations

import os
from pathlib import Path

from embedlab.errors import MissingDependencyError
from embedlab.server.settings import ServerSettings

__all__ = ["serve"]


def serve(
    db: str | os.PathLike[str],
    settings: ServerSettings,
    *,
    grace: int = 30,
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

    loaded = {
        name: encoders.load(spec, backend=settings.backend)
        for name, spec in settings.models.items()
    }
    database = Database(Path(db))
    app = create_app(database, loaded, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=grace,
        limit_concurrency=1024,
    )
    uvicorn.Server(config).run()

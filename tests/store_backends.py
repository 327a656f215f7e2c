"""The store's backends as test fixtures: the embedded folder, and a PostgreSQL server with
pgvector started by ``pgserver`` once per session (each test gets an empty database).

Where pgserver cannot start, the PostgreSQL tests are skipped locally but FAIL under
``CI=true``: CI must run both backends.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from embedlab.store import Database

BACKENDS = ["embedded", "postgres"]
_RESET = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a private PostgreSQL server with pgvector (pgserver), for the session."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pgserver

            folder = tempfile.mkdtemp(prefix="embedlab-pg-")  # short: a socket lives there
            server = pgserver.get_server(folder, cleanup_mode="delete")
    except Exception as exc:
        message = f"pgserver could not start a PostgreSQL server: {type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = server.get_uri().replace("postgres:@", "postgres@")
    try:
        yield url
    finally:
        server.cleanup()


def fresh_pg(url: str) -> str:
    """Empty the server's database (every embedlab table and the extension) and return
    the URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_RESET)
    return url


def open_backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any
) -> Database:
    """An empty database of one backend."""
    if kind == "embedded":
        return Database(tmp_path / "db", **options)
    url = request.getfixturevalue("pg_url")
    return Database(fresh_pg(url), **options)


def embedded_only(db: Database, what: str) -> None:
    """Skip a combination the PostgreSQL backend does not offer (it refuses it instead, as
    ``test_store_postgres`` checks)."""
    if db.url is not None:
        pytest.skip(f"the PostgreSQL backend has no {what}")

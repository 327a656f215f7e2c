"""The PostgreSQL backend: collections on a server with the pgvector extension.

Layout on the server (in the database the URL names)::

    embedlab_collections       one row per collection: settings, model, sequence number
    embedlab_items_<id>        one table per collection: label, id, vector(dim), metadata
                               (jsonb), document, and a generated tsvector for keyword search

PostgreSQL's transactions keep writers apart (each write takes its collection's row lock
to bump the sequence number, so writes to one collection queue, writes to others don't),
and a write is acknowledged only after its ``COMMIT`` (durable under the server's default
``synchronous_commit = on``). Any number of processes and machines may share one server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    InvalidParameterError,
    MissingDependencyError,
    StoreIOError,
)
from embedlab.store.backend.postgres import versions
from embedlab.store.backend.postgres.collection import (
    PostgresCollection,
    create_items_table,
    items_table,
)
from embedlab.store.results import CollectionInfo

__all__ = ["POSTGRES_PIP", "PostgresDatabase"]

POSTGRES_PIP = "pip install 'embedlab[postgres]'"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embedlab_collections (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    dim integer NOT NULL,
    metric text NOT NULL,
    index_kind text NOT NULL,
    index_params jsonb NOT NULL,
    model text,
    created double precision NOT NULL,
    seq bigint NOT NULL DEFAULT 0
)
"""
_SCHEMA_LOCK = 0x656D62  # an advisory lock id: one process sets the schema up at a time
_KINDS = ("flat", "hnsw", "ivf", "binary")


class PostgresDatabase:
    """Collections in a PostgreSQL database; see :class:`embedlab.store.Database`."""

    read_only = False

    def __init__(self, url: str, *, lock_timeout: float) -> None:
        try:
            import psycopg
        except ImportError:
            raise MissingDependencyError(
                f"a postgresql:// database needs psycopg: {POSTGRES_PIP}"
            ) from None
        self.url = url
        self.lock = threading.RLock()
        self.lock_timeout = lock_timeout
        self._settings: dict[str, str] = {}  # session parameters the planner has set
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.ProgrammingError as exc:
            raise InvalidParameterError(
                f"not a usable PostgreSQL URL {_shown(url)!r}: {_first_line(exc)}"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreIOError(
                f"could not connect to the PostgreSQL server at {_shown(url)!r}: {_first_line(exc)}"
            ) from None
        try:
            # A writer waits this long for another's locks, then gets StoreLockedError.
            self.conn.execute(f"SET lock_timeout = {max(1, int(lock_timeout * 1000))}")
            self._prepare()
        except BaseException:
            self.conn.close()
            raise
        self._open = True

    def _prepare(self) -> None:
        """Create the pgvector extension (if allowed) and the collections table."""
        import psycopg

        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            have = cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
            if have is None:
                available = cur.execute(
                    "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
                ).fetchone()
                if available is None:
                    raise MissingDependencyError(
                        f"the PostgreSQL server at {_shown(self.url)!r} has no pgvector "
                        "extension; install it on the server (https://github.com/pgvector/"
                        "pgvector) or use the pgserver package, which ships it"
                    )
                try:
                    cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except psycopg.errors.InsufficientPrivilege:
                    raise MissingDependencyError(
                        f"the pgvector extension is not enabled in {_shown(self.url)!r} and "
                        "this user may not enable it; ask an administrator to run "
                        "CREATE EXTENSION vector"
                    ) from None
            cur.execute(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction on the database's connection (thread-locked)."""
        import psycopg

        with self.lock:
            try:
                with self.conn.transaction(), self.conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                if isinstance(exc, psycopg.errors.LockNotAvailable):
                    from embedlab.errors import StoreLockedError

                    raise StoreLockedError(
                        f"the PostgreSQL database {_shown(self.url)!r} stayed locked by another "
                        f"writer for {self.lock_timeout:g} s"
                    ) from None
                raise StoreIOError(
                    f"the PostgreSQL server at {_shown(self.url)!r} failed: {_first_line(exc)}"
                ) from None

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor for reads outside a transaction (thread-locked): each statement sees
        its own snapshot, and no BEGIN / COMMIT round trips are paid."""
        import psycopg

        with self.lock:
            self.check_open()
            try:
                with self.conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                raise StoreIOError(
                    f"the PostgreSQL server at {_shown(self.url)!r} failed: {_first_line(exc)}"
                ) from None

    def setting(self, cur: Any, name: str, value: int | bool) -> None:
        """Set one of the planner's session parameters, unless it already has that value
        (outside a transaction; ``name`` comes from the code, ``value`` is an int or bool)."""
        text = ("on" if value else "off") if isinstance(value, bool) else str(int(value))
        if self._settings.get(name) != text:
            cur.execute(f"SET {name} = {text}")
            self._settings[name] = text

    def check_open(self) -> None:
        if not self._open:
            raise InvalidParameterError(f"the database {_shown(self.url)!r} is closed")

    # -- collections ------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str,
        kind: str,
        params: dict[str, float],
        model: str | None,
    ) -> PostgresCollection:
        if kind not in _KINDS:
            raise InvalidParameterError(
                f"the PostgreSQL backend has the indexes {', '.join(_KINDS)} (pgvector); "
                f"got {kind!r}"
            )
        if dim > 16_000 or (dim > 2_000 and kind in ("hnsw", "ivf")):
            raise InvalidParameterError(
                f"pgvector stores at most 16,000 dimensions and indexes at most 2,000; got "
                f"{dim} for a {kind!r} collection"
            )
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if cur.execute(
                "SELECT 1 FROM embedlab_collections WHERE name = %s", (name,)
            ).fetchone():
                raise CollectionExistsError(
                    f"collection {name!r} already exists; use get_collection() or "
                    "get_or_create_collection()"
                )
            row = cur.execute(
                "INSERT INTO embedlab_collections"
                " (name, dim, metric, index_kind, index_params, model, created)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING " + _COLUMNS,
                (name, dim, metric, kind, json.dumps(params), model, time.time()),
            ).fetchone()
            collection = PostgresCollection(self, row)
            create_items_table(cur, collection.spec)
        return collection

    def get_collection(self, name: str) -> PostgresCollection:
        self.check_open()
        with self.transaction() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM embedlab_collections WHERE name = %s", (name,)
            ).fetchone()
            if row is None:
                raise CollectionNotFoundError(str(name), self._names(cur))
            collection = PostgresCollection(self, row)
            collection.check_table(cur)
        return collection

    def list_collections(self) -> list[CollectionInfo]:
        self.check_open()
        with self.transaction() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM embedlab_collections ORDER BY name"
            ).fetchall()
            return [PostgresCollection(self, row).read_info(cur) for row in rows]

    def delete_collection(self, name: str) -> None:
        self.check_open()
        with self.transaction() as cur:
            row = cur.execute(
                "DELETE FROM embedlab_collections WHERE name = %s RETURNING id", (name,)
            ).fetchone()
            if row is None:
                raise CollectionNotFoundError(str(name), self._names(cur))
            cur.execute(f"DROP TABLE IF EXISTS {items_table(int(row[0]))}")

    def rename_collection(self, name: str, new_name: str) -> None:
        """One UPDATE in one transaction: the rows' table (``embedlab_items_<id>``) and its
        indexes are named by the collection's id, so nothing else is renamed."""
        import psycopg

        self.check_open()
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            row = cur.execute(
                "SELECT id FROM embedlab_collections WHERE name = %s FOR UPDATE", (name,)
            ).fetchone()
            if row is None:
                raise CollectionNotFoundError(str(name), self._names(cur))
            if new_name == name:
                return
            try:
                with cur.connection.transaction():  # a savepoint: the error keeps the tx usable
                    cur.execute(
                        "UPDATE embedlab_collections SET name = %s WHERE id = %s",
                        (new_name, row[0]),
                    )
            except psycopg.errors.UniqueViolation:
                raise CollectionExistsError(
                    f"cannot rename collection {name!r} to {new_name!r}: a collection "
                    f"called {new_name!r} already exists"
                ) from None

    # -- versions (store/versions.py; the SQL is in postgres/versions.py) -------------
    def lineage(self, name: str) -> dict[str, Any] | None:
        return versions.lineage(self, name)

    def set_lineage(self, name: str, record: dict[str, Any]) -> None:
        versions.set_lineage(self, name, record)

    def switch_version(
        self,
        live: str,
        staged: str,
        retired: str,
        *,
        expect_sequence: int,
        records: dict[str, dict[str, Any]],
    ) -> bool:
        return versions.switch_version(
            self, live, staged, retired, expect_sequence=expect_sequence, records=records
        )

    def names(self) -> list[str]:
        """Every collection's name (for error messages)."""
        with self.transaction() as cur:
            return self._names(cur)

    @staticmethod
    def _names(cur: Any) -> list[str]:
        return [r[0] for r in cur.execute("SELECT name FROM embedlab_collections ORDER BY name")]

    def close(self) -> None:
        with self.lock:
            if self._open:
                self.conn.close()
                self._open = False


_COLUMNS = "id, name, dim, metric, index_kind, index_params, model, created, seq"


def _shown(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

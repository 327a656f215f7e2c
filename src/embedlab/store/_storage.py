"""SQLite, the store's source of truth: schema, transactions and every statement.

One file, ``embedlab.sqlite``, in WAL mode with ``synchronous=FULL``: a write is
acknowledged only after its transaction is on disk, readers in other processes see only
committed transactions, and a killed writer leaves the last committed state.

Every change to a collection takes the next value of the collection's sequence number.
Rows are never changed in place: an upsert or update tombstones the old row and inserts a
new one, so a row's ``label`` (its integer key, never reused) always names one vector, and
the rows with ``seq`` or ``deleted_seq`` above a number are exactly what changed since.

Each row carries a CRC-32 of what it stores (collection, id, sequence number, vector,
metadata and document), written with the row, so ``verify()`` finds any changed value.
Damage SQLite reports (a malformed or emptied file) becomes a
:class:`~embedlab.errors.StoreCorruptError` naming the file. A folder that cannot be
written is opened read-only: reads work, writes raise
:class:`~embedlab.errors.StoreReadOnlyError`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import (
    CollectionNotFoundError,
    StoreCorruptError,
    StoreIOError,
    StoreLockedError,
    StoreReadOnlyError,
    StoreVersionError,
)
from embedlab.store._records import (
    FORMAT_VERSION,
    SCHEMA,
    SQLITE_NAME,
    CollectionRow,
    Rows,
    collection_row,
    row_checksum,
    row_checksum_sql,
    statements,
)

__all__ = ["FORMAT_VERSION", "SQLITE_NAME", "CollectionRow", "Rows", "Storage", "row_checksum"]

_BUSY_TIMEOUT_MS = 30_000
_IN_CHUNK = 500  # host parameters per IN (...) list


class Storage:
    """The SQLite connection of one database folder and the statements the store runs."""

    def __init__(self, folder: Path, *, was_database: bool = False) -> None:
        """Open ``folder``'s SQLite file; ``was_database``: the folder held a database
        before (index files), so a missing or empty SQLite file is damage, not a new one."""
        self.path = folder / SQLITE_NAME
        _check_present(self.path, was_database)
        self.read_only = not _writable(folder, self.path)
        if self.read_only and not self.path.exists():
            raise StoreReadOnlyError(f"cannot create a database in the read-only folder {folder}")
        uri = None
        if self.read_only:
            # On a read-only file system with no write-ahead log nobody can change the file
            # (and SQLite cannot make its shared-memory file): open it as immutable.
            wal = self.path.with_name(SQLITE_NAME + "-wal")
            fixed = os.statvfs(folder).f_flag & os.ST_RDONLY and not (
                wal.exists() and wal.stat().st_size
            )
            uri = f"file:{self.path}?{'immutable=1' if fixed else 'mode=ro'}"
        with self.guard():
            self.conn = sqlite3.connect(
                uri or self.path,
                uri=uri is not None,
                isolation_level=None,
                check_same_thread=False,
                timeout=30.0,
            )
        self._version_cursor: sqlite3.Cursor | None = None
        self.conn.create_function("row_checksum", 6, row_checksum_sql, deterministic=True)
        self.has_checksums = True
        try:
            with self.guard():
                self.database_id = self._prepare()
        except BaseException:
            self.conn.close()
            raise

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn SQLite's damage, read-only and I/O errors into typed errors naming the file."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise _typed(exc, self.path) from None
        except json.JSONDecodeError as exc:
            raise StoreCorruptError(
                f"the database file is damaged (a stored value is not valid JSON: {exc})",
                path=str(self.path),
            ) from None

    def _prepare(self) -> str:
        """Set the connection up, create the schema, check the format; return the db's id."""
        self.conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        if self.read_only:
            return self._prepare_read_only()
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        with self.write():
            for statement in statements(SCHEMA):
                self.conn.execute(statement)
            row = self.conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if row is None:
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('format', ?)", (str(FORMAT_VERSION),)
                )
            else:
                self._check_format(row[0])
                if int(row[0]) < 2:
                    self._add_checksums()
            if self.conn.execute("SELECT 1 FROM meta WHERE key='fts'").fetchone() is None:
                # The keyword index arrived after the first databases: index what is there.
                self.conn.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")
                self.conn.execute("INSERT INTO meta(key, value) VALUES ('fts', '1')")
            row = self.conn.execute("SELECT value FROM meta WHERE key='id'").fetchone()
            if row is None:
                row = (uuid.uuid4().hex,)
                self.conn.execute("INSERT INTO meta(key, value) VALUES ('id', ?)", row)
            return str(row[0])

    def _prepare_read_only(self) -> str:
        """Check a database opened read-only (nothing is created or migrated)."""
        with self.read():
            try:
                rows = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
            except sqlite3.OperationalError:
                raise StoreCorruptError(
                    "the file holds no embedlab database (no meta table)", path=str(self.path)
                ) from None
            self._check_format(rows.get("format", "0"))
            columns = [r[1] for r in self.conn.execute("PRAGMA table_info(items)")]
            self.has_checksums = "checksum" in columns  # not before format 2
            return str(rows.get("id", ""))

    def _check_format(self, value: object) -> None:
        try:
            version = int(str(value))
        except ValueError:
            raise StoreCorruptError(
                f"the stored format version {value!r} is not a number", path=str(self.path)
            ) from None
        if version > FORMAT_VERSION:
            raise StoreVersionError(
                f"this database was written by a newer embedlab (store format {version}); "
                f"this version reads format {FORMAT_VERSION} and older. Upgrade embedlab.",
                path=str(self.path),
            )

    def _add_checksums(self) -> None:
        """Format 1 -> 2: add the per-row checksum column and fill it (inside a write)."""
        columns = [r[1] for r in self.conn.execute("PRAGMA table_info(items)")]
        if "checksum" not in columns:
            self.conn.execute("ALTER TABLE items ADD COLUMN checksum INTEGER")
        self.conn.execute(
            "UPDATE items SET checksum ="
            " row_checksum(collection_id, id, seq, vector, metadata, document)"
        )
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(FORMAT_VERSION),))

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.conn.close()

    # -- transactions -----------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        if self.read_only:
            raise StoreReadOnlyError(
                f"the database {self.path.parent} is read-only (its folder cannot be "
                "written); it was opened for reading only"
            )
        with self.guard():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement in the block sees one snapshot.

        Nested in another transaction it joins that one (the same snapshot).
        """
        if self.conn.in_transaction:
            with self.guard():
                yield self.conn
            return
        with self.guard():
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap: no disk access)."""
        try:  # read before every query: no context manager, one cursor kept for it
            if self._version_cursor is None:
                self._version_cursor = self.conn.cursor()
            return int(self._version_cursor.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise _typed(exc, self.path) from None

    # -- collections ------------------------------------------------------------------
    def collections(self) -> list[CollectionRow]:
        """Every collection, by name."""
        rows = self.conn.execute(f"SELECT {_COLLECTION_COLUMNS} FROM collections ORDER BY name")
        return [collection_row(r) for r in rows]

    def collection(self, name: str) -> CollectionRow | None:
        """The collection called ``name``, if any."""
        row = self.conn.execute(
            f"SELECT {_COLLECTION_COLUMNS} FROM collections WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else collection_row(row)

    def collection_by_id(self, collection_id: int) -> CollectionRow | None:
        """The collection with this id, if it still exists."""
        row = self.conn.execute(
            f"SELECT {_COLLECTION_COLUMNS} FROM collections WHERE id = ?", (collection_id,)
        ).fetchone()
        return None if row is None else collection_row(row)

    def insert_collection(
        self,
        name: str,
        *,
        dim: int,
        metric: str,
        index_kind: str,
        index_params: dict[str, float],
        model: str | None,
    ) -> None:
        """Create a collection row (inside a write transaction)."""
        self.conn.execute(
            "INSERT INTO collections(name, dim, metric, index_kind, index_params, model, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, dim, metric, index_kind, json.dumps(index_params), model, time.time()),
        )

    def rename_collection(self, collection_id: int, name: str) -> None:
        """Give a collection a new name (inside a write transaction; rows, index file and
        keyword index are keyed by its id, so the name is the only thing that changes)."""
        self.conn.execute("UPDATE collections SET name = ? WHERE id = ?", (name, collection_id))

    def delete_collection(self, collection_id: int) -> None:
        """Remove a collection and all its rows (inside a write transaction)."""
        self.conn.execute("DELETE FROM items WHERE collection_id = ?", (collection_id,))
        self.conn.execute("DELETE FROM collections WHERE id = ?", (collection_id,))

    def next_seq(self, collection_id: int, *, new_generation: bool = False) -> int:
        """Take the collection's next sequence number (inside a write transaction)."""
        bump = ", generation = generation + 1" if new_generation else ""
        row = self.conn.execute(
            f"UPDATE collections SET seq = seq + 1{bump} WHERE id = ? RETURNING seq",
            (collection_id,),
        ).fetchone()
        if row is None:  # dropped by another handle or process
            names = [c.name for c in self.collections()]
            raise CollectionNotFoundError(f"#{collection_id}", names)
        return int(row[0])

    def count(self, collection_id: int) -> int:
        """Live rows in a collection."""
        row = self.conn.execute(
            "SELECT count(*) FROM items WHERE collection_id = ? AND deleted_seq IS NULL",
            (collection_id,),
        ).fetchone()
        return int(row[0])

    # -- items ------------------------------------------------------------------------
    def insert_items(
        self,
        collection_id: int,
        seq: int,
        ids: Sequence[str],
        blobs: Sequence[bytes],
        metadata: Sequence[str | None],
        documents: Sequence[str | None],
    ) -> npt.NDArray[np.int64]:
        """Insert rows (inside a write transaction) and return their labels, in order."""
        self.conn.executemany(
            "INSERT INTO items(collection_id, id, vector, metadata, document, seq, checksum)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (collection_id, i, b, m, d, seq, row_checksum(collection_id, i, seq, b, m, d))
                for i, b, m, d in zip(ids, blobs, metadata, documents, strict=True)
            ),
        )
        labels = self.conn.execute(
            "SELECT label FROM items WHERE collection_id = ? AND seq = ? AND deleted_seq IS NULL"
            " ORDER BY label",
            (collection_id, seq),
        ).fetchall()
        return np.fromiter((r[0] for r in labels), dtype=np.int64, count=len(labels))

    def live_labels(self, collection_id: int, ids: Sequence[str]) -> dict[str, int]:
        """The labels of those ``ids`` that are live."""
        out: dict[str, int] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT id, label FROM items WHERE collection_id = ? AND deleted_seq IS NULL"
                f" AND id IN ({marks})",
                (collection_id, *chunk),
            )
            out.update(rows)
        return out

    def tombstone(self, collection_id: int, seq: int, labels: Sequence[int]) -> None:
        """Mark rows deleted at ``seq`` (inside a write transaction)."""
        self.conn.executemany(
            "UPDATE items SET deleted_seq = ? WHERE label = ? AND collection_id = ?",
            ((seq, int(label), collection_id) for label in labels),
        )

    def rows_since(self, collection_id: int, seq: int) -> Rows:
        """Live rows with a sequence number above ``seq`` (all live rows for seq = -1)."""
        cursor = self.conn.execute(
            "SELECT label, id, vector, metadata, seq, document IS NOT NULL FROM items"
            " WHERE collection_id = ? AND seq > ? AND deleted_seq IS NULL ORDER BY label",
            (collection_id, seq),
        )
        rows = cursor.fetchall()
        return Rows(
            labels=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            ids=[r[1] for r in rows],
            blobs=[r[2] for r in rows],
            metadata=[r[3] for r in rows],
            seqs=np.fromiter((r[4] for r in rows), dtype=np.int64, count=len(rows)),
            any_document=any(r[5] for r in rows),
        )

    def tombstones_since(self, collection_id: int, seq: int) -> npt.NDArray[np.int64]:
        """Labels of rows deleted after ``seq``."""
        rows = self.conn.execute(
            "SELECT label FROM items WHERE collection_id = ? AND deleted_seq > ?",
            (collection_id, seq),
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def fetch(self, labels: Sequence[int], column: str) -> dict[int, Any]:
        """One column (``vector`` or ``document``) of the rows with these labels."""
        if column not in ("vector", "document"):
            raise ValueError(column)  # pragma: no cover - internal misuse
        out: dict[int, Any] = {}
        for chunk in _chunks([int(x) for x in labels]):
            marks = ",".join("?" * len(chunk))
            out.update(
                self.conn.execute(
                    f"SELECT label, {column} FROM items WHERE label IN ({marks})", chunk
                )
            )
        return out

    def labels_matching_document(
        self, collection_id: int, sql: str, params: Sequence[str]
    ) -> npt.NDArray[np.int64]:
        """Labels of live rows whose document satisfies a where_document SQL fragment."""
        rows = self.conn.execute(
            f"SELECT label FROM items WHERE collection_id = ? AND deleted_seq IS NULL AND ({sql})",
            (collection_id, *params),
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def keyword_matches(
        self, collection_id: int, fts_query: str, limit: int | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Labels of live rows whose document matches an FTS5 query, best BM25 first."""
        rows = self.conn.execute(
            "SELECT items.label, bm25(items_fts) AS score FROM items_fts"
            " JOIN items ON items.label = items_fts.rowid"
            " WHERE items_fts MATCH ? AND items.collection_id = ? AND items.deleted_seq IS NULL"
            " ORDER BY score LIMIT ?",
            (fts_query, collection_id, -1 if limit is None else limit),
        ).fetchall()
        labels = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        scores = np.fromiter((r[1] for r in rows), dtype=np.float32, count=len(rows))
        return labels, scores

    def purge_tombstones(self, collection_id: int) -> int:
        """Delete tombstoned rows for good (inside a write transaction); return how many."""
        cursor = self.conn.execute(
            "DELETE FROM items WHERE collection_id = ? AND deleted_seq IS NOT NULL",
            (collection_id,),
        )
        return int(cursor.rowcount)

    def vacuum(self) -> None:
        """Give freed pages back to the file system and empty the write-ahead log."""
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def integrity_problems(self) -> list[str]:
        """SQLite's full consistency check (tables against their indexes too); empty when
        the file is sound."""
        with self.guard():
            rows = self.conn.execute("PRAGMA integrity_check(20)").fetchall()
        return [str(r[0]) for r in rows if r[0] != "ok"]

    def checksum_mismatches(self, collection_id: int) -> list[str]:
        """Ids of a collection's rows (deleted ones too) whose stored values no longer
        match their checksum (inside a read transaction)."""
        if not self.has_checksums:  # a format-1 database opened read-only
            return []
        rows = self.conn.execute(
            "SELECT id FROM items WHERE collection_id = ? AND checksum IS NOT"
            " row_checksum(collection_id, id, seq, vector, metadata, document)",
            (collection_id,),
        ).fetchall()
        return [str(r[0]) for r in rows]


_COLLECTION_COLUMNS = (
    "id, name, dim, metric, index_kind, index_params, model, created, seq, generation"
)


def _check_present(path: Path, was_database: bool) -> None:
    """Refuse to start an empty database where one was (missing or zero-length file)."""
    if not was_database:
        return
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if not path.exists():
        raise StoreCorruptError(
            "the database file is missing, but the folder holds a database's index files; "
            "restore the file (or remove the folder to start again)",
            path=str(path),
        )
    if path.stat().st_size == 0 and not has_wal:
        raise StoreCorruptError(
            "the database file is empty, but the folder holds a database's index files; "
            "restore the file (or remove the folder to start again)",
            path=str(path),
        )


def _writable(folder: Path, path: Path) -> bool:
    """True when SQLite can write here (its journal files go next to the database)."""
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def _typed(exc: sqlite3.DatabaseError, path: Path) -> Exception:
    """The typed error for a SQLite failure."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_READONLY:
        return StoreReadOnlyError(f"the database {path} cannot be written: {exc}")
    if primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN):
        return StoreIOError(f"the database {path} could not be read or written: {exc}")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreLockedError(f"the database {path} stayed busy: {exc}")
    return StoreCorruptError(
        f"the database file is damaged or not a database ({exc})", path=str(path)
    )


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield list(values[start : start + _IN_CHUNK])

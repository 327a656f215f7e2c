"""What the store's SQLite file holds: its schema, format version, the records read back
from it (a collection's catalogue row, a batch of live rows) and each row's checksum.

:mod:`embedlab.store._storage` runs the statements; this module only describes the data.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FORMAT_VERSION",
    "SCHEMA",
    "SQLITE_NAME",
    "CollectionRow",
    "Rows",
    "collection_row",
    "row_checksum",
    "row_checksum_sql",
    "statements",
]

# 2: items.checksum (databases of format 1 get it computed when first opened for writing)
FORMAT_VERSION = 2
SQLITE_NAME = "embedlab.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    dim INTEGER NOT NULL,
    metric TEXT NOT NULL,
    index_kind TEXT NOT NULL,
    index_params TEXT NOT NULL,
    model TEXT,
    created REAL NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    label INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    vector BLOB NOT NULL,
    metadata TEXT,
    document TEXT,
    seq INTEGER NOT NULL,
    deleted_seq INTEGER,
    checksum INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS items_live_id ON items(collection_id, id)
    WHERE deleted_seq IS NULL;
CREATE INDEX IF NOT EXISTS items_seq ON items(collection_id, seq);
CREATE INDEX IF NOT EXISTS items_deleted ON items(collection_id, deleted_seq)
    WHERE deleted_seq IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    document, content='items', content_rowid='label', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS items_fts_insert AFTER INSERT ON items
    WHEN new.document IS NOT NULL BEGIN
    INSERT INTO items_fts(rowid, document) VALUES (new.label, new.document);
END;
CREATE TRIGGER IF NOT EXISTS items_fts_delete AFTER DELETE ON items
    WHEN old.document IS NOT NULL BEGIN
    INSERT INTO items_fts(items_fts, rowid, document) VALUES ('delete', old.label, old.document);
END;
"""


@dataclass(frozen=True)
class CollectionRow:
    """A collection's settings and its change counters, as stored."""

    id: int
    name: str
    dim: int
    metric: str
    index_kind: str
    index_params: dict[str, float]  # ints, and a float recall target
    model: str | None
    created: float
    seq: int
    generation: int


@dataclass(frozen=True)
class Rows:
    """Live rows read back in label order (vectors as raw blobs, metadata as JSON)."""

    labels: npt.NDArray[np.int64]
    ids: list[str]
    blobs: list[bytes]
    metadata: list[str | None]
    seqs: npt.NDArray[np.int64]
    any_document: bool = True  # whether any of them has a document (True when unknown)


def row_checksum(
    collection_id: int,
    key: str,
    seq: int,
    vector: bytes,
    metadata: str | None,
    document: str | None,
) -> int:
    """CRC-32 of what one row stores (each part length-prefixed; None differs from "")."""
    crc = zlib.crc32(f"{collection_id}:{seq}:".encode())
    for part in (key, vector, metadata, document):
        if part is None:
            crc = zlib.crc32(b"N", crc)
            continue
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        crc = zlib.crc32(b"%d:" % len(data), crc)
        crc = zlib.crc32(data, crc)
    return crc


def row_checksum_sql(*args: Any) -> int | None:
    """``row_checksum`` as SQLite's ``row_checksum()`` function (see Storage)."""
    try:
        return row_checksum(*args)
    except Exception:  # damaged values (wrong types): report a mismatch, not a crash
        return None


def collection_row(row: tuple[Any, ...]) -> CollectionRow:
    """A catalogue row (the ``collections`` table, column order) as a CollectionRow."""
    return CollectionRow(
        id=row[0],
        name=row[1],
        dim=row[2],
        metric=row[3],
        index_kind=row[4],
        index_params={
            str(k): v if isinstance(v, float) else int(v) for k, v in json.loads(row[5]).items()
        },
        model=row[6],
        created=row[7],
        seq=row[8],
        generation=row[9],
    )


def statements(script: str) -> Iterator[str]:
    """The complete SQL statements of a script (trigger bodies hold semicolons too)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""

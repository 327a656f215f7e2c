"""Collection versions on the embedded backend: each collection's lineage record, and the
switch that gives a staged version the live name in one SQLite transaction.

The records live in a ``lineage`` table (created by the first write of one, so a folder
that never re-embedded is unchanged), keyed by the collection's id: ids are never reused
(``AUTOINCREMENT``) and survive renames, so a record follows its collection.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from embedlab.errors import CollectionExistsError, CollectionNotFoundError

if TYPE_CHECKING:
    from embedlab.store.backend.embedded.database import EmbeddedDatabase

__all__ = ["lineage", "set_lineage", "switch_version"]

_TABLE = "CREATE TABLE IF NOT EXISTS lineage (collection_id INTEGER PRIMARY KEY, record TEXT)"


def lineage(db: EmbeddedDatabase, name: str) -> dict[str, Any] | None:
    """The lineage record of the collection called ``name`` (None if it has none)."""
    with db.lock:
        db.check_open()
        with db.storage.read() as conn:
            collection_id = _id(db, name)
            try:
                row = conn.execute(
                    "SELECT record FROM lineage WHERE collection_id = ?", (collection_id,)
                ).fetchone()
            except sqlite3.OperationalError:  # no table: nothing was ever recorded
                return None
    return None if row is None else dict(json.loads(row[0]))


def set_lineage(db: EmbeddedDatabase, name: str, record: dict[str, Any]) -> None:
    """Store (replace) the lineage record of the collection called ``name``."""
    db.check_open(write=True)
    text = json.dumps(record)
    with db.lock, db.write_lock.hold():
        db.check_open()
        with db.storage.write() as conn:
            conn.execute(_TABLE)
            conn.execute(
                "INSERT OR REPLACE INTO lineage(collection_id, record) VALUES (?, ?)",
                (_id(db, name), text),
            )


def switch_version(
    db: EmbeddedDatabase,
    live: str,
    staged: str,
    retired: str,
    *,
    expect_sequence: int,
    records: dict[str, dict[str, Any]],
) -> bool:
    """In one transaction, under the write lock: if ``live`` is still at
    ``expect_sequence``, rename it to ``retired`` and ``staged`` to ``live``, and store the
    lineage ``records`` (keyed by the names after the switch). False (nothing changed)
    when ``live`` has moved on."""
    db.check_open(write=True)
    with db.lock, db.write_lock.hold():
        db.check_open()
        with db.storage.write() as conn:
            live_row, staged_row = db.storage.collection(live), db.storage.collection(staged)
            if live_row is None or staged_row is None:
                names = [c.name for c in db.storage.collections()]
                raise CollectionNotFoundError(live if live_row is None else staged, names)
            if live_row.seq != expect_sequence:
                return False
            if db.storage.collection(retired) is not None:
                raise CollectionExistsError(
                    f"collection {retired!r} already exists; the live version of {live!r} "
                    "cannot be kept under that name"
                )
            ids = {retired: live_row.id, live: staged_row.id}
            for new_name, collection_id in ids.items():
                db.storage.rename_collection(collection_id, new_name)
            conn.execute(_TABLE)
            for new_name, record in records.items():
                conn.execute(
                    "INSERT OR REPLACE INTO lineage(collection_id, record) VALUES (?, ?)",
                    (ids[new_name], json.dumps(record)),
                )
        for new_name, collection_id in ids.items():  # open handles learn their new names
            cached = db.cached(collection_id)
            if cached is not None:
                cached.renamed(new_name)
    return True


def _id(db: EmbeddedDatabase, name: str) -> int:
    row = db.storage.collection(name) if isinstance(name, str) else None
    if row is None:
        raise CollectionNotFoundError(str(name), [c.name for c in db.storage.collections()])
    return row.id

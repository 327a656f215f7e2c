"""Collection versions on the PostgreSQL backend: each collection's lineage record, and
the switch that gives a staged version the live name in one transaction.

The records live in ``embedlab_lineage`` (created by the first write of one), keyed by
the collection's id (a ``bigserial``, never reused; it survives renames) and removed with
the collection (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from embedlab.errors import CollectionExistsError, CollectionNotFoundError

if TYPE_CHECKING:
    from embedlab.store.backend.postgres.database import PostgresDatabase

__all__ = ["lineage", "set_lineage", "switch_version"]

_TABLE = (
    "CREATE TABLE IF NOT EXISTS embedlab_lineage (collection_id bigint PRIMARY KEY"
    " REFERENCES embedlab_collections(id) ON DELETE CASCADE, record jsonb NOT NULL)"
)
_UPSERT = (
    "INSERT INTO embedlab_lineage (collection_id, record) VALUES (%s, %s)"
    " ON CONFLICT (collection_id) DO UPDATE SET record = EXCLUDED.record"
)
_SCHEMA_LOCK = 0x656D62  # the same advisory lock as postgres/database.py's schema set-up


def lineage(db: PostgresDatabase, name: str) -> dict[str, Any] | None:
    """The lineage record of the collection called ``name`` (None if it has none)."""
    db.check_open()
    with db.transaction() as cur:
        collection_id = _id(cur, name)
        if cur.execute("SELECT to_regclass('embedlab_lineage')").fetchone()[0] is None:
            return None
        row = cur.execute(
            "SELECT record FROM embedlab_lineage WHERE collection_id = %s", (collection_id,)
        ).fetchone()
    if row is None:
        return None
    return dict(row[0] if isinstance(row[0], dict) else json.loads(row[0]))


def set_lineage(db: PostgresDatabase, name: str, record: dict[str, Any]) -> None:
    """Store (replace) the lineage record of the collection called ``name``."""
    db.check_open()
    with db.transaction() as cur:
        _create_table(cur)
        cur.execute(_UPSERT, (_id(cur, name), json.dumps(record)))


def switch_version(
    db: PostgresDatabase,
    live: str,
    staged: str,
    retired: str,
    *,
    expect_sequence: int,
    records: dict[str, dict[str, Any]],
) -> bool:
    """In one transaction: lock both collections' rows (writers to them wait, since each
    write locks its collection's row first); if ``live`` is still at ``expect_sequence``,
    rename it to ``retired`` and ``staged`` to ``live`` and store the lineage ``records``
    (keyed by the names after the switch). False (nothing changed) when ``live`` moved on."""
    db.check_open()
    with db.transaction() as cur:
        _create_table(cur)
        rows = cur.execute(
            "SELECT name, id, seq FROM embedlab_collections WHERE name = ANY(%s)"
            " ORDER BY id FOR UPDATE",
            ([live, staged, retired],),
        ).fetchall()
        found = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
        for name in (live, staged):
            if name not in found:
                names = [r[0] for r in cur.execute("SELECT name FROM embedlab_collections")]
                raise CollectionNotFoundError(name, sorted(names))
        if found[live][1] != expect_sequence:
            return False
        if retired in found:
            raise CollectionExistsError(
                f"collection {retired!r} already exists; the live version of {live!r} "
                "cannot be kept under that name"
            )
        ids = {retired: found[live][0], live: found[staged][0]}
        for new_name, collection_id in ids.items():
            cur.execute(
                "UPDATE embedlab_collections SET name = %s WHERE id = %s", (new_name, collection_id)
            )
        for new_name, record in records.items():
            cur.execute(_UPSERT, (ids[new_name], json.dumps(record)))
    return True


def _create_table(cur: Any) -> None:
    if cur.execute("SELECT to_regclass('embedlab_lineage')").fetchone()[0] is None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(_TABLE)


def _id(cur: Any, name: str) -> int:
    row = cur.execute("SELECT id FROM embedlab_collections WHERE name = %s", (name,)).fetchone()
    if row is None:
        names = [r[0] for r in cur.execute("SELECT name FROM embedlab_collections ORDER BY name")]
        raise CollectionNotFoundError(str(name), names)
    return int(row[0])

"""Renaming a collection (``Database.rename_collection``, Chroma's ``modify(name=...)``) on
both backends: rows, index, keyword index and model move with it; a taken or invalid name
changes nothing; other handles see the new name; a crash mid-rename leaves the old state."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    InvalidParameterError,
    UnsupportedOptionError,
)
from embedlab.store import Collection, Database

rng = np.random.default_rng(16)
VECTORS = rng.normal(size=(30, 6)).astype(np.float32)
IDS = [f"r{i}" for i in range(30)]
DOCS = [f"note {i} about {'rivers' if i % 3 else 'mountains'}" for i in range(30)]


def _filled(db: Database, name: str = "draft") -> Collection:
    col = db.create_collection(name, dim=6, index="hnsw", model="m6")
    col.add(IDS, VECTORS, metadata=[{"i": i} for i in range(30)], documents=DOCS)
    return col


def _same_answers(col: Collection) -> None:
    hit = col.query(VECTORS[4], k=3, where={"i": {"$lt": 10}})
    assert hit.ids[0] == "r4"
    assert set(col.keyword_query("mountains", k=30).ids) == {f"r{i}" for i in range(0, 30, 3)}
    assert col.count() == 30 and col.model == "m6" and col.dim == 6


def test_modify_renames_everything(any_db: Database) -> None:
    col = _filled(any_db)
    other = any_db.create_collection("other", dim=2, index="flat")
    col.modify(name="final")
    assert col.name == "final"
    assert [c.name for c in any_db.list_collections()] == ["final", "other"]
    with pytest.raises(CollectionNotFoundError, match="draft"):
        any_db.get_collection("draft")
    again = any_db.get_collection("final")
    assert again.name == "final" and again.info().name == "final"
    _same_answers(col)
    _same_answers(again)
    col.add(["new"], VECTORS[:1] * 2, documents=["mountains again"])  # still writable
    assert again.count() == 31 and other.count() == 0
    # the old name is free again
    fresh = any_db.create_collection("draft", dim=3, index="flat")
    assert fresh.count() == 0 and any_db.get_collection("final").count() == 31


def test_taken_or_invalid_name_changes_nothing(any_db: Database) -> None:
    col = _filled(any_db)
    any_db.create_collection("taken", dim=2, index="flat")
    with pytest.raises(CollectionExistsError, match="'taken' already exists"):
        col.modify(name="taken")
    for bad in ["", "a/b", "x" * 500, "tab\there", 7]:
        with pytest.raises(InvalidParameterError, match="collection name") as raised:
            col.modify(name=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError) as created:
            any_db.create_collection(bad, dim=2)  # type: ignore[arg-type]
        assert str(raised.value) == str(created.value)  # the same check as create
    with pytest.raises(UnsupportedOptionError, match="metadata"):
        col.modify(name="new", metadata={"a": 1})
    with pytest.raises(CollectionNotFoundError):
        any_db.rename_collection("missing", "new")
    assert sorted(c.name for c in any_db.list_collections()) == ["draft", "taken"]
    col.modify(name="draft")  # its own name: nothing to do
    _same_answers(any_db.get_collection("draft"))


def test_other_handles_and_reopen_see_the_new_name(any_db: Database, tmp_path: Path) -> None:
    _filled(any_db).modify(name="final")
    location = any_db.url or any_db.path
    assert location is not None
    any_db.close()
    with Database(location) as db2:
        col = db2.get_collection("final")
        _same_answers(col)
        with Database(location) as db3:  # a second handle renames it again
            db3.rename_collection("final", "last")
            with pytest.raises(CollectionNotFoundError):
                db3.get_collection("final")
        assert db2.get_collection("last").count() == 30
        if db2.url is None:  # the embedded view takes the new name when it catches up
            col.count()
            _same_answers(col)
            assert col.name == "last"


def test_pending_collection_renames_before_its_first_add(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        db.create_collection("taken", dim=2, index="flat")
        col = db.create_collection("notes")  # Chroma's form: no dimension yet
        with pytest.raises(CollectionExistsError):
            col.modify(name="taken")
        col.modify(name="renamed")
        col.add(ids=["a"], embeddings=[[1.0, 0.0, 0.0]])
        assert [c.name for c in db.list_collections()] == ["renamed", "taken"]


def test_embedded_rename_keeps_the_index_file(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        _filled(db)
    files = sorted((tmp_path / "db" / "indexes").iterdir())
    stamp = [f.stat().st_mtime_ns for f in files]
    with Database(tmp_path / "db") as db:
        db.rename_collection("draft", "final")
    with Database(tmp_path / "db") as db:
        col = db.get_collection("final")
        _same_answers(col)
        assert col.verify().ok
    assert sorted((tmp_path / "db" / "indexes").iterdir()) == files
    assert [f.stat().st_mtime_ns for f in files] == stamp  # not rebuilt, not moved


_CRASH = textwrap.dedent(
    """
    import os, sys
    from embedlab.store import Database
    db = Database(sys.argv[1])
    backend = db._backend
    with backend.write_lock.hold(), backend.storage.write():
        row = backend.storage.collection("draft")
        backend.storage.rename_collection(row.id, "final")
        os._exit(3)  # dies inside the transaction, before its commit
    """
)


def test_embedded_crash_mid_rename_keeps_the_old_name(tmp_path: Path) -> None:
    with Database(tmp_path / "db") as db:
        _filled(db)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _CRASH, str(tmp_path / "db")], env=env, timeout=120, check=False
    )
    assert done.returncode == 3
    with Database(tmp_path / "db") as db:
        assert [c.name for c in db.list_collections()] == ["draft"]
        col = db.get_collection("draft")
        _same_answers(col)
        assert col.verify().ok
        col.modify(name="final")  # the lock the dead process held is free
        assert [c.name for c in db.list_collections()] == ["final"]


def test_rename_through_the_server(tmp_path: Path) -> None:
    from embedlab import Client
    from embedlab.server import create_app
    from server_helpers import running

    with Database(tmp_path / "db") as db, running(create_app(db)) as url, Client(url) as client:
        client.create_collection("taken", dim=2, index="flat")
        col = client.create_collection("draft", dim=6, index="flat", model="m6")
        col.add(IDS, VECTORS, documents=DOCS)
        with pytest.raises(CollectionExistsError, match="already exists"):
            col.modify(name="taken")
        with pytest.raises(InvalidParameterError, match="path separators"):
            client.rename_collection("draft", "a/b")
        col.modify(name="final")
        assert col.name == "final" and col.count() == 30
        assert col.query(VECTORS[4], k=1).ids == ("r4",)
        assert [c.name for c in client.list_collections()] == ["final", "taken"]
        with pytest.raises(CollectionNotFoundError):
            client.get_collection("draft")
        client.rename_collection("final", "last")
        assert db.get_collection("last").count() == 30

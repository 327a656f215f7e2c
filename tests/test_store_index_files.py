"""The ANN index file is derived data: damaged, stale, missing, pre-compaction and foreign
files are detected on open and rebuilt or caught up from SQLite, never trusted."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from embedlab.errors import (
    IndexRebuiltWarning,
)
from embedlab.store import Collection, Database
from store_helpers import (
    Rows,
    assert_like_exact_search,
    no_rebuild_warning,
    probe_queries,
    snapshot,
)

# ---------------------------------------------------------------------------------------------
# 2. Damaged, stale, missing and foreign index files

DIM = 16


@dataclass(frozen=True)
class Built:
    """A closed database with collections "c" and "other", and what was done to "c"."""

    folder: Path
    kind: str
    index: Path  # c's index file
    other_index: Path
    old_index: bytes  # c's index file before the later changes
    rows: Rows  # c's live rows at the end
    late: list[str]  # added after old_index was saved
    deleted: list[str]
    deleted_vectors: npt.NDArray[np.float32]
    upserted: list[str]


def _create(db: Database, name: str, kind: str) -> Collection:
    params = {"ef_search": 128} if kind == "hnsw" else None
    return db.create_collection(name, dim=DIM, metric="euclidean", index=kind, index_params=params)


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    kind = str(request.param)
    folder = tmp_path_factory.mktemp(f"built-{kind}") / "db"
    rng = np.random.default_rng(5)
    with Database(folder) as db:
        col, other = _create(db, "c", kind), _create(db, "other", kind)
        for batch in range(4):
            ids = [f"e{batch}-{i}" for i in range(100)]
            col.add(ids, rng.normal(size=(100, DIM)), [{"batch": batch}] * 100)
            other.add([f"o{batch}-{i}" for i in range(100)], rng.normal(size=(100, DIM)))
        index = folder / "indexes" / f"{col.spec.id}.index"
        other_index = folder / "indexes" / f"{other.spec.id}.index"
    old_index = index.read_bytes()
    with Database(folder) as db:
        col = db.get_collection("c")
        late = [f"late-{i}" for i in range(200)]
        col.add(late, rng.normal(size=(200, DIM)), [{"late": True}] * 200)
        deleted = [f"e{b}-{i}" for b in range(4) for i in range(0, 100, 8)]
        deleted_vectors = col.get(deleted, include=("vectors",)).vectors
        col.delete(ids=deleted)
        upserted = [f"e{b}-{i}" for b in range(4) for i in range(1, 100, 14)]  # odd: never deleted
        col.upsert(upserted, rng.normal(size=(len(upserted), DIM)), [{"up": 1}] * len(upserted))
        rows = snapshot(col)
    assert deleted_vectors is not None
    return Built(
        folder, kind, index, other_index, old_index, rows, late, deleted, deleted_vectors, upserted
    )


def _copy(built: Built, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "db"
    shutil.copytree(built.folder, folder)
    return folder, folder / "indexes" / built.index.name


def _garbage(path: Path, start: int, size: int) -> None:
    data = bytearray(path.read_bytes())
    data[start : start + size] = np.random.default_rng(0).bytes(size)
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path, Built], None]] = {
    "truncated-half": lambda p, b: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "truncated-to-10-bytes": lambda p, b: p.write_bytes(p.read_bytes()[:10]),
    "empty": lambda p, b: p.write_bytes(b""),
    "garbage-in-middle": lambda p, b: _garbage(p, p.stat().st_size // 2, 64),
    "garbage-in-header": lambda p, b: _garbage(p, 12, 24),
    "missing": lambda p, b: p.unlink(),
    "other-collection": lambda p, b: p.write_bytes((p.parent / b.other_index.name).read_bytes()),
}


def check_rows_and_queries(col: Collection, built: Built) -> None:
    assert snapshot(col) == built.rows
    assert len(col) == len(built.rows)
    report = col.verify()
    assert report.ok, report.problems
    exact = built.kind == "flat"
    assert_like_exact_search(
        col, probe_queries(col, np.random.default_rng(1), 30), k=10, exact=exact
    )


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_unusable_index_file_is_rebuilt(built: Built, tmp_path: Path, damage: str) -> None:
    folder, index = _copy(built, tmp_path)
    DAMAGE[damage](index, built)
    with Database(folder) as db:
        with pytest.warns(IndexRebuiltWarning, match="rebuilt"):
            col = db.get_collection("c")
        check_rows_and_queries(col, built)
    with Database(folder) as db, no_rebuild_warning():  # the rebuilt index was saved
        check_rows_and_queries(db.get_collection("c"), built)


def test_index_file_from_before_a_compaction_is_rebuilt(built: Built, tmp_path: Path) -> None:
    folder, index = _copy(built, tmp_path)
    before = index.read_bytes()
    with Database(folder) as db:
        assert db.get_collection("c").compact() == len(built.deleted) + len(built.upserted)
    index.write_bytes(before)
    with Database(folder) as db:
        with pytest.warns(IndexRebuiltWarning, match="compaction"):
            col = db.get_collection("c")
        check_rows_and_queries(col, built)


def test_older_index_file_is_caught_up(built: Built, tmp_path: Path) -> None:
    folder, index = _copy(built, tmp_path)
    index.write_bytes(built.old_index)
    with Database(folder) as db:
        col = db.get_collection("c")
        check_rows_and_queries(col, built)
        late = col.get(built.late, include=("vectors",))
        assert late.ids == tuple(built.late) and late.vectors is not None
        for key, vector in list(zip(late.ids, late.vectors, strict=True))[::20]:
            assert col.query(vector, k=1).ids == (key,)
        assert col.get(built.deleted).ids == ()
        for vector in built.deleted_vectors:
            assert not set(col.query(vector, k=5).ids) & set(built.deleted)
        fresh = col.get(built.upserted, include=("metadata",)).metadata
        assert fresh == tuple({"up": 1} for _ in built.upserted)
    with Database(folder) as db, no_rebuild_warning():
        check_rows_and_queries(db.get_collection("c"), built)


def _twin(folder: Path, seed: int) -> None:
    """A database shaped exactly like its twin (same ids, batches, stamps), other vectors."""
    rng = np.random.default_rng(seed)
    with Database(folder) as db:
        col = _create(db, "c", "flat")
        for batch in range(3):
            col.add([f"t{batch}-{i}" for i in range(100)], rng.normal(size=(100, DIM)))


def test_index_file_from_another_database_is_not_trusted(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    _twin(mine, seed=1)
    _twin(theirs, seed=2)
    shutil.copy(theirs / "indexes" / "1.index", mine / "indexes" / "1.index")
    with Database(mine) as db:
        with pytest.warns(IndexRebuiltWarning, match="another database"):
            col = db.get_collection("c")
        rows = col.get(include=("vectors",))
        assert rows.vectors is not None
        for key, vector in list(zip(rows.ids, rows.vectors, strict=True))[::25]:
            assert col.query(vector, k=1).ids == (key,)
        queries = np.random.default_rng(3).normal(size=(10, DIM)).astype(np.float32)
        assert_like_exact_search(col, queries, k=10, exact=True)

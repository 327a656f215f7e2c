"""Several processes on one database: one writer at a time (a file lock naming its
holder), readers that see every commit, and concurrent writers that both land."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from embedlab.errors import (
    StoreLockedError,
)
from embedlab.store import Database
from store_helpers import (
    assert_like_exact_search,
    probe_queries,
    reply,
    spawn,
)
from store_writer import CHURN_DIM, burst_ids, burst_vectors

# ---------------------------------------------------------------------------------------------
# 3. Several processes


def _flat(folder: Path, name: str = "c") -> None:
    with Database(folder) as db:
        db.create_collection(name, dim=CHURN_DIM, metric="euclidean", index="flat")


@pytest.mark.parametrize("ending", ["released", "killed"])
def test_held_write_lock_names_its_holder_and_frees(tmp_path: Path, ending: str) -> None:
    folder, log = tmp_path / "db", tmp_path / "hold.log"
    _flat(folder)
    vectors = np.ones((1, CHURN_DIM), dtype=np.float32)
    holder = spawn("hold", folder, log=log)
    try:
        assert reply(holder, log) == {"holding": holder.pid}
        with Database(folder, lock_timeout=0.2) as db:
            col = db.get_collection("c")
            started = time.monotonic()
            with pytest.raises(StoreLockedError, match=rf"process {holder.pid}\b"):
                col.add(["a"], vectors)
            assert 0.2 <= time.monotonic() - started < 5.0
            with pytest.raises(StoreLockedError, match=str(holder.pid)):
                col.delete(ids=["a"])
            assert len(col) == 0  # readers never wait for the lock
            if ending == "released":
                assert holder.stdin is not None
                holder.stdin.close()
                assert holder.wait(timeout=30) == 0, log.read_text()
            else:
                holder.send_signal(signal.SIGKILL)
                holder.wait(timeout=30)
            col.add(["a"], vectors)
            assert col.get(["a"]).ids == ("a",)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_writer_waits_for_the_lock_then_writes(tmp_path: Path) -> None:
    folder, log = tmp_path / "db", tmp_path / "hold.log"
    _flat(folder)
    holder = spawn("hold", folder, log=log)
    try:
        reply(holder, log)
        assert holder.stdin is not None
        release = threading.Timer(0.5, holder.stdin.close)
        release.start()
        with Database(folder, lock_timeout=20.0) as db:
            started = time.monotonic()
            db.get_collection("c").add(["a"], np.ones((1, CHURN_DIM)))
            assert time.monotonic() - started >= 0.4
        release.join()
        assert holder.wait(timeout=30) == 0, log.read_text()
    finally:
        holder.kill()
        holder.wait(timeout=30)


class Server:
    """A ``serve`` helper: another process writing to the same folder on command."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.log = log
        self.proc = spawn("serve", folder, log=log)

    def __call__(self, op: str, ids: list[str] | None = None, **more: Any) -> Any:
        assert self.proc.stdin is not None
        command = {"op": op, "collection": "c", "ids": ids, **more}
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        return reply(self.proc, self.log)["ok"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        assert code == 0, self.log.read_text()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    _flat(tmp_path / "db")
    helper = Server(tmp_path / "db", tmp_path / "serve.log")
    yield helper
    helper.proc.kill()
    helper.proc.wait(timeout=30)


def _vectors(rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    return rng.normal(size=(count, CHURN_DIM)).astype(np.float32)


def test_open_reader_sees_other_process_writes(tmp_path: Path, server: Server) -> None:
    rng = np.random.default_rng(8)
    with Database(tmp_path / "db") as db:
        col = db.get_collection("c")
        base = _vectors(rng, 50)
        col.add([f"b{i}" for i in range(50)], base)
        assert len(col) == 50
        new = _vectors(rng, 30)
        new_ids = [f"n{i}" for i in range(30)]
        server("add", new_ids, vectors=new.tolist(), metadata=[{"n": i} for i in range(30)])
        assert len(col) == 80
        got = col.get(new_ids, include=("metadata", "vectors"))
        assert got.ids == tuple(new_ids) and got.metadata == tuple({"n": i} for i in range(30))
        assert got.vectors is not None and got.vectors.tobytes() == new.tobytes()
        assert col.query(new[7], k=1).ids == ("n7",)
        assert len(col.get(where={"n": {"$gte": 0}})) == 30

        gone = [f"b{i}" for i in range(0, 50, 5)] + ["n3", "n4"]
        assert server("delete", gone) == len(gone)
        assert len(col) == 80 - len(gone)
        assert col.get(gone).ids == ()
        assert not set(col.query(base[0], k=20).ids) & set(gone)
        assert "n3" not in col.get(where={"n": {"$gte": 0}}).ids

        moved = _vectors(rng, 2)
        server("upsert", ["b1", "n5"], vectors=moved.tolist())
        stored = col.get(["b1", "n5"], include=("vectors",)).vectors
        assert stored is not None and stored.tobytes() == moved.tobytes()
        assert col.query(moved[0], k=1).ids == ("b1",)

        assert server("compact") == len(gone) + 2
        assert len(col) == 80 - len(gone)
        report = col.verify()
        assert report.ok and report.deleted_pending == 0, report
        assert_like_exact_search(col, probe_queries(col, rng, 20), k=10, exact=True)
        server("add", ["late"], vectors=_vectors(rng, 1).tolist())
        assert "late" in col.get().ids and len(col) == 81 - len(gone)
        server.close()


def test_open_reader_sees_delete_after_an_add_and_delete_elsewhere(
    tmp_path: Path, server: Server
) -> None:
    with Database(tmp_path / "db") as db:
        col = db.get_collection("c")
        col.add(["a", "b"], np.eye(2, CHURN_DIM))
        assert len(col) == 2
        server("add", ["x"], vectors=np.ones((1, CHURN_DIM)).tolist())
        server("delete", ["x"])
        server("delete", ["a"])
        assert col.get().ids == ("b",)
        assert len(col) == 1


def test_view_only_queries_see_each_commit_elsewhere_and_hold_no_transaction(
    tmp_path: Path, server: Server
) -> None:
    """A query answered from the view alone (no documents or vectors asked for) checks
    SQLite's data_version on a cursor it keeps: each write of another process is seen by
    the very next query, and between queries the reader holds no read transaction (a
    TRUNCATE checkpoint from another connection is not held up)."""
    import sqlite3

    rng = np.random.default_rng(11)
    with Database(tmp_path / "db") as db:
        col = db.get_collection("c")
        col.add(["a"], _vectors(rng, 1))
        for i in range(4):
            vector = _vectors(rng, 1)
            server("add", [f"w{i}"], vectors=vector.tolist(), metadata=[{"i": i}])
            got = col.query(vector[0], k=1, include=("metadata",))
            assert got.ids == (f"w{i}",) and got.metadata == ({"i": i},)
            assert len(col) == 2 + i
        server("delete", ["w0"])
        assert "w0" not in col.query(np.zeros(CHURN_DIM, np.float32), k=10, include=()).ids
        other = sqlite3.connect(tmp_path / "db" / "embedlab.sqlite", isolation_level=None)
        try:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            other.close()
        assert busy == 0
        server.close()


def test_view_only_queries_see_every_commit_elsewhere_across_restarted_logs(
    tmp_path: Path, server: Server
) -> None:
    """Every commit of another process is seen by the very next view-only query, also
    after TRUNCATE checkpoints restarted the write-ahead log."""
    import sqlite3

    rng = np.random.default_rng(12)
    with Database(tmp_path / "db") as db:
        col = db.get_collection("c")
        col.add(["a"], _vectors(rng, 1))
        other = sqlite3.connect(tmp_path / "db" / "embedlab.sqlite", isolation_level=None)
        try:
            for i in range(8):
                if i % 3 == 2:  # a restarted log
                    busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    assert busy == 0
                vector = _vectors(rng, 1)
                server("add", [f"w{i}"], vectors=vector.tolist(), metadata=[{"i": i}])
                got = col.query(vector[0], k=1, include=("metadata",))
                assert got.ids == (f"w{i}",) and got.metadata == ({"i": i},)
                assert col.query(vector[0], k=1, include=()).ids == (f"w{i}",)
        finally:
            other.close()
        server.close()


def test_documents_are_read_from_sqlite_only_once_the_view_has_held_one(
    tmp_path: Path, server: Server
) -> None:
    """Rows with no documents: a query with the default include (documents too) answers
    None for each from the view, with no read of SQLite's documents and no transaction.
    A row with a document, written here or by another process, turns the reads back on,
    and a reopened database knows it from the rows it loads."""
    rng = np.random.default_rng(13)
    folder = tmp_path / "db"
    with Database(folder) as db:
        col = db.get_collection("c")
        plain = _vectors(rng, 2)
        col.add(["a", "b"], plain)
        statements: list[str] = []
        storage = col._impl._db.storage  # type: ignore[attr-defined]
        storage.conn.set_trace_callback(statements.append)
        got = col.query(plain[0], k=2)
        assert got.ids[0] == "a" and got.documents == (None, None)
        assert not [s for s in statements if "document" in s or s.startswith("BEGIN")]
        assert col.get(["a"]).documents == (None,)  # in a transaction, no document read
        assert not [s for s in statements if "document" in s]
        theirs = _vectors(rng, 1)
        server("add", ["d"], vectors=theirs.tolist(), documents=["their text"])
        got = col.query(theirs[0], k=2)
        assert got.ids[0] == "d" and got.documents[0] == "their text"
        assert [s for s in statements if "document" in s]
        storage.conn.set_trace_callback(None)
        server.close()
    with Database(folder) as db:  # the index file holds every row: loaded from it
        col = db.get_collection("c")
        assert col.query(theirs[0], k=1).documents == ("their text",)
    folder2 = tmp_path / "own"
    with Database(folder2) as db:
        col = db.create_collection("c", dim=CHURN_DIM, metric="euclidean", index="flat")
        col.add(["a"], plain[:1])
        assert col.query(plain[0], k=1).documents == (None,)
        col.add(["e"], plain[1:], documents=["my text"])
        assert col.query(plain[1], k=1).documents == ("my text",)
        col.update(["a"], documents=["now a text"])
        assert col.get(["a"]).documents == ("now a text",)


def test_two_writer_processes_both_land(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    _flat(folder)
    batches, size = 30, 40
    procs = [
        spawn("burst", folder, "c", p, batches, size, seed, log=tmp_path / f"{p}.log")
        for p, seed in (("p", 1), ("q", 2))
    ]
    try:
        for proc, name in zip(procs, "pq", strict=True):
            assert "ready" in reply(proc, tmp_path / f"{name}.log")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        for proc, name in zip(procs, "pq", strict=True):
            assert reply(proc, tmp_path / f"{name}.log", timeout=60) == {"done": batches * size}
            assert proc.wait(timeout=30) == 0
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
    with Database(folder) as db:
        col = db.get_collection("c")
        assert len(col) == 2 * batches * size
        for prefix, seed in (("p", 1), ("q", 2)):
            for batch in range(batches):
                ids = burst_ids(prefix, batch, size)
                got = col.get(ids, include=("vectors",))
                assert got.ids == tuple(ids)
                want = burst_vectors(seed, batch, size, CHURN_DIM)
                assert got.vectors is not None and got.vectors.tobytes() == want.tobytes()
        assert col.verify().ok

"""The store's durability and concurrency promises (ARCHITECTURE.md, "The store's promises").

Real processes and real files under tmp_path, no mocks: a writer killed with SIGKILL at
random moments, damaged, stale, missing and foreign index files, the write lock and
committed data seen across processes, a folder from a newer format, compaction reclaiming
disk, and refused input leaving the stored rows as they were. The second process is
``tests/store_writer.py``; exact numpy search is the oracle for every query.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from embedlab.errors import (
    DimensionMismatchError,
    DuplicateIdError,
    IndexRebuiltWarning,
    InvalidMetadataError,
    InvalidParameterError,
    StoreLockedError,
    StoreVersionError,
)
from embedlab.store import Collection, Database
from store_writer import CHURN_COLLECTIONS, CHURN_DIM, burst_ids, burst_vectors

WRITER = Path(__file__).with_name("store_writer.py")
SQLITE = "embedlab.sqlite"
Rows = dict[str, tuple[bytes, dict[str, Any]]]  # id -> (float32 bytes, metadata)


# ---------------------------------------------------------------------------------------------
# Helpers


def spawn(*args: object, log: Path) -> subprocess.Popen[bytes]:
    """``store_writer.py`` in a new process: stdin and stdout piped, stderr to ``log``."""
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, str(WRITER), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )


def reply(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> dict[str, Any]:
    """The next JSON line a helper process prints (failing with its stderr if it dies)."""
    stdout = proc.stdout
    assert stdout is not None
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        proc.kill()
        pytest.fail(f"helper process gave no answer; stderr:\n{log.read_text()}")
    return dict(json.loads(result[0]))


def snapshot(col: Collection) -> Rows:
    """Every live row: exact float32 bytes and metadata."""
    got = col.get(include=("metadata", "vectors"))
    assert got.vectors is not None and got.metadata is not None
    assert got.vectors.dtype == np.float32
    return {
        key: (vector.tobytes(), meta)
        for key, vector, meta in zip(got.ids, got.vectors, got.metadata, strict=True)
    }


def describe_difference(expected: Rows, actual: Rows) -> str:
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    changed = sorted(k for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    return (
        f"{len(missing)} missing {missing[:3]}, {len(extra)} unexpected {extra[:3]}, "
        f"{len(changed)} with other vectors or metadata {changed[:3]}"
    )


def assert_like_exact_search(
    col: Collection,
    queries: npt.NDArray[np.float32],
    *,
    k: int,
    exact: bool,
    min_recall: float = 0.95,
) -> None:
    """Euclidean queries against exact numpy search over the rows ``get`` returns.

    Every returned id must be live with its true distance; with ``exact`` the distances
    are the k smallest (which is what exact search means, ties or not), otherwise recall@k
    against the exact answer must reach ``min_recall``.
    """
    rows = col.get(include=("vectors",))
    assert rows.vectors is not None
    stored = rows.vectors.astype(np.float64)
    where = {key: i for i, key in enumerate(rows.ids)}
    hits = 0
    for q in queries:
        true = np.sqrt(((stored - q.astype(np.float64)) ** 2).sum(axis=1))
        best = np.argsort(true, kind="stable")[:k]
        result = col.query(q, k=k, include=())
        assert len(result.ids) == min(k, len(where)), result.ids
        dead = [key for key in result.ids if key not in where]
        assert not dead, f"query returned rows that are not stored: {dead}"
        own = true[[where[key] for key in result.ids]]
        np.testing.assert_allclose(result.distances, own, rtol=1e-4, atol=1e-5)
        if exact:
            np.testing.assert_allclose(result.distances, true[best], rtol=1e-4, atol=1e-5)
        hits += len(set(result.ids) & {rows.ids[i] for i in best})
    if not exact:
        assert hits / (len(queries) * min(k, len(where))) >= min_recall


def probe_queries(col: Collection, rng: np.random.Generator, count: int) -> npt.NDArray[np.float32]:
    """Half random points, half stored vectors nudged a little."""
    stored = col.get(include=("vectors",)).vectors
    assert stored is not None
    near = stored[rng.integers(len(stored), size=count // 2)]
    near = near + rng.normal(scale=0.01, size=near.shape)
    far = rng.normal(size=(count - count // 2, stored.shape[1]))
    return np.vstack([near, far]).astype(np.float32)


@contextmanager
def no_rebuild_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", IndexRebuiltWarning)
        yield


# ---------------------------------------------------------------------------------------------
# 1. kill -9 while writing


@dataclass(frozen=True)
class Op:
    """One logged write of the churning writer."""

    name: str
    kind: str
    collection: str
    ids: list[str]
    rows: list[tuple[bytes, dict[str, Any]]]

    @classmethod
    def parse(cls, record: dict[str, Any]) -> Op:
        rows = []
        if "vectors" in record:
            vectors = np.frombuffer(bytes.fromhex(record["vectors"]), dtype=np.float32)
            vectors = vectors.reshape(len(record["ids"]), CHURN_DIM)
            rows = [(v.tobytes(), m) for v, m in zip(vectors, record["metadata"], strict=True)]
        return cls(record["begin"], record["op"], record["collection"], record["ids"], rows)

    def apply(self, state: dict[str, Rows]) -> dict[str, Rows]:
        """The state after this op (a new dict for the collection it touches)."""
        rows = dict(state[self.collection])
        if self.kind in ("add", "upsert"):
            rows.update(zip(self.ids, self.rows, strict=True))
        elif self.kind == "delete":
            for key in self.ids:
                rows.pop(key, None)
        return {**state, self.collection: rows}


@dataclass
class _Pump:
    """Drains a writer's stdout in a thread, counting acknowledgements as they arrive."""

    proc: subprocess.Popen[bytes]
    lines: list[bytes] = field(default_factory=list)
    acks: int = 0
    ready: bool = False
    done: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(line)
                if line.endswith(b"\n"):
                    self.acks += line.startswith(b'{"ack"')
                    self.ready |= line.startswith(b'{"ready"')
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_for(self, acks: int, timeout: float = 30.0) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.done or (self.ready and self.acks >= acks), timeout)


def run_writer_until_killed(
    folder: Path, round_no: int, seed: int, rng: np.random.Generator, log: Path
) -> tuple[list[Op], int]:
    """Start a churning writer, SIGKILL it at a random moment; its begun ops and acks."""
    proc = spawn("churn", folder, round_no, seed, log=log)
    pump = _Pump(proc)
    pump.start()
    try:
        if rng.random() < 0.2:  # while it imports, opens or makes its first writes
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # after its n-th acknowledged op (0: once it has opened the database)
            pump.wait_for(int(rng.integers(0, 8)))
            time.sleep(float(rng.choice([0.0, 0.002, 0.02, 0.3])) * rng.random())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with pump.cond:
        pump.cond.wait_for(lambda: pump.done, 30)
    assert proc.returncode == -signal.SIGKILL, f"writer ended by itself:\n{log.read_text()}"
    records = [json.loads(line) for line in pump.lines if line.endswith(b"\n")]
    ops, acked = [], 0
    for record in records:
        if "begin" in record:
            assert len(ops) == acked, f"op begun before the previous one was acked: {record}"
            ops.append(Op.parse(record))
        elif "ack" in record:
            assert ops and record["ack"] == ops[-1].name and acked == len(ops) - 1
            acked += 1
    return ops, acked


def check_after_kill(folder: Path, state: dict[str, Rows], in_flight: Op | None) -> dict[str, Rows]:
    """The database holds every acked op, and the unacked one wholly or not at all."""
    after = state if in_flight is None else in_flight.apply(state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexRebuiltWarning)  # a stale file is caught up
        db = Database(folder)
    try:
        actual = {}
        for name in CHURN_COLLECTIONS:
            col = db.get_collection(name)
            actual[name] = snapshot(col)
            assert len(col) == len(actual[name])
            report = col.verify()
            assert report.ok, report.problems
    finally:
        db.close()
    if actual == state:
        return state
    assert in_flight is not None, {n: describe_difference(state[n], actual[n]) for n in state}
    name = in_flight.collection
    if actual != after:
        touched = {k: actual[name].get(k) == after[name].get(k) for k in in_flight.ids}
        pytest.fail(
            f"unacknowledged {in_flight.kind} {in_flight.name} is partly applied "
            f"({sum(touched.values())} of {len(touched)} rows): "
            f"vs acked state {describe_difference(state[name], actual[name])}; "
            f"vs with it applied {describe_difference(after[name], actual[name])}"
        )
    return after


def churn_and_kill(tmp_path: Path, kills: int, seed: int) -> Counter[str]:
    """``kills`` rounds of writing and SIGKILL on one database; counts what happened."""
    folder = tmp_path / "db"
    with Database(folder) as db:
        db.create_collection(
            "hnsw",
            dim=CHURN_DIM,
            metric="euclidean",
            index="hnsw",
            index_params={"ef_construction": 40, "ef_search": 128},
        )
        db.create_collection("flat", dim=CHURN_DIM, metric="euclidean", index="flat")
    rng = np.random.default_rng(seed)
    state: dict[str, Rows] = {name: {} for name in CHURN_COLLECTIONS}
    seen: Counter[str] = Counter()
    for round_no in range(kills):
        ops, acked = run_writer_until_killed(folder, round_no, seed, rng, tmp_path / "writer.log")
        for op in ops[:acked]:
            state = op.apply(state)
        seen.update(op.kind for op in ops[:acked])
        in_flight = ops[acked] if acked < len(ops) else None
        settled = check_after_kill(folder, state, in_flight)
        if in_flight is not None and in_flight.kind in ("add", "upsert", "delete"):
            seen["in flight, applied" if settled is not state else "in flight, lost"] += 1
        state = settled

    with Database(folder) as db:
        for name in CHURN_COLLECTIONS:
            col = db.get_collection(name)
            assert snapshot(col).keys() == state[name].keys()
            if state[name]:
                queries = probe_queries(col, rng, 20)
                assert_like_exact_search(col, queries, k=10, exact=name == "flat")
    return seen


def test_kill_9_keeps_every_acknowledged_write_few_kills(tmp_path: Path) -> None:
    churn_and_kill(tmp_path, kills=5, seed=11)


@pytest.mark.slow
def test_kill_9_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    seen = churn_and_kill(tmp_path, kills=24, seed=2024)
    landed = seen["in flight, applied"] + seen["in flight, lost"]
    assert landed >= 1, f"no kill landed inside a write, so nothing was tested: {seen}"


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


# ---------------------------------------------------------------------------------------------
# 4. A folder from a newer format


@pytest.fixture
def newer(tmp_path: Path) -> Path:
    """A closed database whose format number says a newer embedlab wrote it."""
    folder = tmp_path / "db"
    with Database(folder) as db:
        col = db.create_collection("c", dim=4, metric="euclidean", index="flat")
        col.add(["a"], np.ones((1, 4)))
    conn = sqlite3.connect(folder / SQLITE)
    with conn:
        conn.execute("UPDATE meta SET value='999' WHERE key='format'")
    conn.close()
    return folder


def test_newer_format_is_refused_and_left_alone(newer: Path) -> None:
    before = (newer / SQLITE).read_bytes()
    for _ in range(2):
        with pytest.raises(StoreVersionError, match="format 999"):
            Database(newer)
        gc.collect()
    assert (newer / SQLITE).read_bytes() == before
    assert not list(newer.glob(SQLITE + "-*"))


def test_refused_open_closes_the_database_file(newer: Path) -> None:
    listing = sorted(p.name for p in newer.iterdir())
    with pytest.raises(StoreVersionError) as refused:
        Database(newer)
    assert refused.value.path is not None
    assert sorted(p.name for p in newer.iterdir()) == listing


# ---------------------------------------------------------------------------------------------
# 5. Compaction gives disk space back


def _disk(folder: Path) -> tuple[int, int]:
    sqlite_bytes = sum(p.stat().st_size for p in folder.glob(SQLITE + "*"))
    index_bytes = sum(p.stat().st_size for p in (folder / "indexes").glob("*.index"))
    return sqlite_bytes, index_bytes


def test_compaction_reclaims_space(tmp_path: Path) -> None:
    folder, rng, n, dim = tmp_path / "db", np.random.default_rng(4), 20_000, 32
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    ids = [f"v{i}" for i in range(n)]
    with Database(folder) as db:
        col = db.create_collection(
            "c",
            dim=dim,
            metric="euclidean",
            index="hnsw",
            index_params={"M": 16, "ef_construction": 40, "ef_search": 128},
        )
        col.add(ids, vectors, [{"i": i} for i in range(n)])
    full = _disk(folder)
    gone = ids[::2]
    queries = vectors[:: n // 20] + rng.normal(scale=0.05, size=(20, dim)).astype(np.float32)
    with Database(folder) as db:
        col = db.get_collection("c")
        assert col.delete(ids=gone) == n // 2
        for when in ("before", "after"):
            assert len(col) == n // 2
            assert col.get(gone[:100]).ids == ()
            assert not any(set(col.query(q, k=10, include=()).ids) & set(gone) for q in queries)
            assert_like_exact_search(col, queries, k=10, exact=False, min_recall=0.9)
            if when == "before":
                assert col.compact() == n // 2
    half = _disk(folder)
    assert half[0] < 0.75 * full[0], (full, half)
    assert half[1] < 0.75 * full[1], (full, half)
    with Database(folder) as db, no_rebuild_warning():
        col = db.get_collection("c")
        report = col.verify()
        assert report.ok and report.rows == n // 2 and report.deleted_pending == 0, report
        assert_like_exact_search(col, queries, k=10, exact=False, min_recall=0.9)


# ---------------------------------------------------------------------------------------------
# 6. Refused input leaves the stored rows as they were

GOOD = np.random.default_rng(6).normal(size=(3, 4)).astype(np.float32)
BAD_CALLS: dict[str, tuple[Callable[[Collection], object], type[Exception]]] = {
    "nan-vector": (
        lambda c: c.add(["n1", "n2"], np.array([[0, 0, 0, 0], [0, np.nan, 0, 0]])),
        InvalidParameterError,
    ),
    "inf-upsert": (
        lambda c: c.upsert(["k0", "n1"], np.array([[1, 2, 3, 4], [np.inf, 0, 0, 0]])),
        InvalidParameterError,
    ),
    "wrong-dim": (lambda c: c.add(["n1"], np.ones((1, 5))), DimensionMismatchError),
    "duplicate-in-batch": (lambda c: c.add(["n1", "n1"], GOOD[:2]), DuplicateIdError),
    "existing-id": (lambda c: c.add(["n1", "k3", "n2"], GOOD), DuplicateIdError),
    "nested-metadata": (
        lambda c: c.add(["n1", "n2"], GOOD[:2], [{"ok": 1}, {"bad": {"x": 1}}]),
        InvalidMetadataError,
    ),
    "huge-int-metadata": (
        lambda c: c.upsert(["k1", "n2"], GOOD[:2], [{"ok": 1}, {"big": 2**60}]),
        InvalidMetadataError,
    ),
    "count-mismatch": (lambda c: c.add(["n1", "n2", "n3"], GOOD[:2]), InvalidParameterError),
    "update-missing-id": (lambda c: c.update(["k1", "nope"], vectors=GOOD[:2]), KeyError),
}


@pytest.mark.parametrize("bad", sorted(BAD_CALLS))
def test_refused_write_changes_nothing(tmp_path: Path, bad: str) -> None:
    call, error = BAD_CALLS[bad]
    folder = tmp_path / "db"
    rng = np.random.default_rng(9)
    with Database(folder) as db:
        col = db.create_collection("c", dim=4, metric="euclidean", index="hnsw")
        col.add(
            [f"k{i}" for i in range(100)],
            rng.normal(size=(100, 4)),
            [{"i": i, "tags": ["a", str(i)]} for i in range(100)],
            [f"doc {i}" for i in range(100)],
        )
        before = snapshot(col)
        documents = col.get(include=("documents",)).documents
        with pytest.raises(error):
            call(col)
        assert snapshot(col) == before
        assert col.get(include=("documents",)).documents == documents
        assert col.verify().ok
        col.add(["after"], np.zeros((1, 4)), [{"i": -1}])  # the session still writes
        before["after"] = (np.zeros(4, dtype=np.float32).tobytes(), {"i": -1})
        assert snapshot(col) == before
    with Database(folder) as db, no_rebuild_warning():
        col = db.get_collection("c")
        assert snapshot(col) == before
        assert col.get(include=("documents",)).documents == (*(documents or ()), None)
        assert col.verify().ok

"""The store's durability promises (ARCHITECTURE.md, "The store's promises").

Real processes and real files under tmp_path, no mocks: a writer killed with SIGKILL at
random moments, a folder from a newer format, compaction reclaiming disk, and refused
input leaving the stored rows as they were. The second process is
``tests/store_writer.py``; exact numpy search is the oracle for every query. Damaged index
files and several processes have their own modules (test_store_index_files.py,
test_store_processes.py).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.errors import (
    DimensionMismatchError,
    DuplicateIdError,
    IndexRebuiltWarning,
    InvalidMetadataError,
    InvalidParameterError,
    StoreVersionError,
)
from embedlab.store import Collection, Database
from store_helpers import (
    SQLITE,
    Rows,
    assert_like_exact_search,
    describe_difference,
    no_rebuild_warning,
    probe_queries,
    snapshot,
    spawn,
)
from store_writer import CHURN_COLLECTIONS, CHURN_DIM

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

"""The store against a pure-Python model, driven by Hypothesis in random order.

The model is a dict id -> (vector, metadata, document) kept in the store's row order (a
row written by add, upsert or update moves to the end: each write is a new row). Every
query is compared with a brute-force scan of the model: the same number of results, the
same sorted distances, and each returned id's own distance; equal-distance ids may come
in any order. Small integer vectors make such ties common.

Machines: ``flat`` (exact by construction), ``hnsw`` with ``ef_search`` above the number
of positions (exhaustive on these tiny graphs, so exact too; filtered queries go through
the bitmap selector when ``exact_threshold=0``), and ``ivf`` with one list (exact, and it
crosses the untrained -> trained switch at 39 positions).

The same machine runs on the PostgreSQL backend (``BACKEND = "postgres"``: a fresh
database on the session's pgserver per example, fewer examples to stay fast): flat
euclidean and cosine, and HNSW with ``ef_search`` above the row count.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from embedlab.errors import (
    DuplicateIdError,
    IndexRebuiltWarning,
    InvalidParameterError,
    UnknownKeyError,
)
from embedlab.store import Collection, Database
from store_backends import fresh_pg

DIM = 3
TOLERANCE = 1e-5
IDS = [f"id{i}" for i in range(10)]
DOCUMENTS = [None, "red", "red sky", "blue sky"]

# ---------------------------------------------------------------------------------------------
# Strategies

ID = st.sampled_from(IDS)
VECTOR = st.lists(st.integers(-3, 3), min_size=DIM, max_size=DIM).map(
    lambda v: np.array(v, dtype=np.float32)
)
METADATA = st.fixed_dictionaries(
    {}, optional={"g": st.integers(0, 3), "t": st.sampled_from(["x", "y"])}
)
PATCH = st.fixed_dictionaries(
    {},
    optional={
        "g": st.none() | st.integers(0, 3),
        "t": st.none() | st.sampled_from(["x", "y"]),
        "h": st.none() | st.booleans(),
    },
)
DOCUMENT = st.sampled_from(DOCUMENTS)
ROW = st.tuples(ID, VECTOR, METADATA, DOCUMENT)
BATCH = st.lists(ROW, min_size=1, max_size=4, unique_by=lambda row: row[0])
SOME_IDS = st.lists(st.sampled_from([*IDS, "never"]), min_size=1, max_size=4, unique=True)
WHERE = st.sampled_from(
    [
        {"g": 1},
        {"g": {"$lt": 2}},
        {"g": {"$gte": 1}, "t": "x"},
        {"t": {"$in": ["y"]}},
        {"g": {"$exists": False}},
        {"$or": [{"g": 0}, {"t": "y"}]},
        {"$not": {"g": {"$ne": 3}}},
    ]
)
WHERE_DOCUMENT = st.sampled_from([{"$contains": "sky"}, {"$not_contains": "red"}])


@dataclass
class Row:
    vector: np.ndarray
    metadata: dict[str, Any]
    document: str | None


def holds(where: dict[str, Any], meta: dict[str, Any]) -> bool:
    """The few filter shapes WHERE draws, evaluated directly (the oracle)."""
    for key, cond in where.items():
        if key == "$or":
            ok = any(holds(child, meta) for child in cond)
        elif key == "$not":
            ok = not holds(cond, meta)
        elif not isinstance(cond, dict):
            ok = key in meta and meta[key] == cond
        else:
            ok = all(_holds_op(op, operand, key, meta) for op, operand in cond.items())
        if not ok:
            return False
    return True


def _holds_op(op: str, operand: Any, key: str, meta: dict[str, Any]) -> bool:
    if op == "$exists":
        return (key in meta) == operand
    if key not in meta:
        return op == "$ne"  # $ne is exactly "not $eq": a missing key is not equal
    value = meta[key]
    comparisons = {
        "$ne": lambda: value != operand,
        "$lt": lambda: value < operand,
        "$gte": lambda: value >= operand,
        "$in": lambda: value in operand,
    }
    return bool(comparisons[op]())


def document_holds(where_document: dict[str, str], document: str | None) -> bool:
    ((op, text),) = where_document.items()
    return (text in (document or "")) == (op == "$contains")


# ---------------------------------------------------------------------------------------------
# The machine

_SERVER: dict[str, str] = {}  # the session's PostgreSQL URL, for the postgres machines


@pytest.fixture(autouse=True)
def _server(request: pytest.FixtureRequest) -> None:
    """Give the postgres machines the session's server (started only for them)."""
    if "::TestPg" in request.node.nodeid:
        _SERVER["url"] = request.getfixturevalue("pg_url")


class StoreMachine(RuleBasedStateMachine):
    """Random writes, reads, reopens and compactions of one collection against the model."""

    METRIC: ClassVar[str] = "euclidean"
    INDEX: ClassVar[str] = "flat"
    PARAMS: ClassVar[dict[str, int] | None] = None
    THRESHOLDS: ClassVar[list[int]] = [8192]
    BACKEND: ClassVar[str] = "embedded"

    def __init__(self) -> None:
        super().__init__()
        if self.BACKEND == "postgres":
            self.folder = fresh_pg(_SERVER["url"])  # a URL: an empty database per example
        else:
            self.folder = tempfile.mkdtemp(prefix="embedlab-stateful-")
        self.db = Database(self.folder)
        self.col: Collection = self.db.create_collection(
            "c", dim=DIM, metric=self.METRIC, index=self.INDEX, index_params=self.PARAMS
        )
        self.model: dict[str, Row] = {}
        self.tombstones = 0  # rows deleted or replaced since the last compaction

    def teardown(self) -> None:
        self.db.close()
        if self.BACKEND == "embedded":
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- writes -------------------------------------------------------------------------
    def _write(self, batch: list[tuple[str, np.ndarray, dict[str, Any], str | None]]) -> None:
        for key, vector, meta, doc in batch:
            if key in self.model:
                self.tombstones += 1
                del self.model[key]
            self.model[key] = Row(vector, dict(meta), doc)

    @staticmethod
    def _columns(batch: list[Any]) -> dict[str, Any]:
        return {
            "ids": [row[0] for row in batch],
            "vectors": np.stack([row[1] for row in batch]),
            "metadata": [row[2] or None for row in batch],
            "documents": [row[3] for row in batch],
        }

    @rule(batch=BATCH)
    def add(self, batch: list[Any]) -> None:
        existing = [row[0] for row in batch if row[0] in self.model]
        if existing:
            with pytest.raises(DuplicateIdError, match=repr(existing[0])):
                self.col.add(**self._columns(batch))
            return
        self.col.add(**self._columns(batch))
        self._write(batch)

    @rule(batch=BATCH)
    def upsert(self, batch: list[Any]) -> None:
        self.col.upsert(**self._columns(batch))
        self._write(batch)

    @rule(
        ids=st.lists(ID, min_size=1, max_size=3, unique=True),
        data=st.data(),
        with_vectors=st.booleans(),
        with_metadata=st.booleans(),
        with_documents=st.booleans(),
    )
    def update(
        self,
        ids: list[str],
        data: st.DataObject,
        with_vectors: bool,
        with_metadata: bool,
        with_documents: bool,
    ) -> None:
        n = len(ids)
        vectors = data.draw(st.lists(VECTOR, min_size=n, max_size=n)) if with_vectors else None
        patches = data.draw(st.lists(PATCH, min_size=n, max_size=n)) if with_metadata else None
        docs = data.draw(st.lists(DOCUMENT, min_size=n, max_size=n)) if with_documents else None
        kwargs = {
            "vectors": None if vectors is None else np.stack(vectors),
            "metadata": patches,
            "documents": docs,
        }
        missing = [key for key in ids if key not in self.model]
        if missing:
            with pytest.raises(UnknownKeyError, match=repr(missing[0])):
                self.col.update(ids, **kwargs)
            return
        self.col.update(ids, **kwargs)
        batch = []
        for i, key in enumerate(ids):
            old = self.model[key]
            meta = dict(old.metadata)
            for name, value in (patches[i] if patches else {}).items():
                if value is None:
                    meta.pop(name, None)
                else:
                    meta[name] = value
            vector = old.vector if vectors is None else vectors[i]
            batch.append((key, vector, meta, old.document if docs is None else docs[i]))
        self._write(batch)

    @rule(ids=SOME_IDS)
    def delete_ids(self, ids: list[str]) -> None:
        expected = [key for key in ids if key in self.model]
        assert self.col.delete(ids) == len(expected)
        for key in expected:
            del self.model[key]
        self.tombstones += len(expected)

    @rule(where=WHERE, ids=st.none() | SOME_IDS)
    def delete_where(self, where: dict[str, Any], ids: list[str] | None) -> None:
        chosen = [
            key
            for key, row in self.model.items()
            if holds(where, row.metadata) and (ids is None or key in ids)
        ]
        assert self.col.delete(ids, where=where) == len(chosen)
        for key in chosen:
            del self.model[key]
        self.tombstones += len(chosen)

    # -- reads --------------------------------------------------------------------------
    @rule(
        vector=VECTOR,
        k=st.integers(1, 12),
        where=st.none() | WHERE,
        where_document=st.none() | WHERE_DOCUMENT,
        data=st.data(),
    )
    def query(
        self,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None,
        where_document: dict[str, str] | None,
        data: st.DataObject,
    ) -> None:
        threshold = data.draw(st.sampled_from(self.THRESHOLDS), label="exact_threshold")
        kwargs = {"where": where, "where_document": where_document, "exact_threshold": threshold}
        if not self.model:
            with pytest.raises(InvalidParameterError, match="is empty"):
                self.col.query(vector, k=k, **kwargs)
            return
        result = self.col.query(vector, k=k, include=("metadata", "documents"), **kwargs)
        truth = {
            key: self.distance(vector, row.vector)
            for key, row in self.model.items()
            if (where is None or holds(where, row.metadata))
            and (where_document is None or document_holds(where_document, row.document))
        }
        expected = sorted(truth.values())[:k]
        assert len(result.ids) == len(expected), (result.ids, expected)
        assert len(set(result.ids)) == len(result.ids)
        np.testing.assert_allclose(result.distances, expected, atol=TOLERANCE)
        for match in result:
            assert match.distance is not None
            assert abs(truth[match.id] - match.distance) <= TOLERANCE
            assert match.metadata == self.model[match.id].metadata
            assert match.document == self.model[match.id].document

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if self.METRIC == "euclidean":
            return float(np.linalg.norm(a64 - b64))
        norms = np.linalg.norm(a64) * np.linalg.norm(b64)  # cosine; zero rows stay zero
        return 1.0 - (float(a64 @ b64) / norms if norms else 0.0)

    @rule(
        ids=st.none() | SOME_IDS,
        where=st.none() | WHERE,
        limit=st.none() | st.integers(0, 5),
        offset=st.integers(0, 3),
    )
    def get(
        self, ids: list[str] | None, where: dict[str, Any] | None, limit: int | None, offset: int
    ) -> None:
        got = self.col.get(
            ids,
            where=where,
            limit=limit,
            offset=offset,
            include=("metadata", "documents", "vectors"),
        )
        order = list(self.model) if ids is None else [key for key in ids if key in self.model]
        keys = [key for key in order if where is None or holds(where, self.model[key].metadata)]
        keys = keys[offset : None if limit is None else offset + limit]
        assert got.ids == tuple(keys)
        assert got.metadata == tuple(self.model[key].metadata for key in keys)
        assert got.documents == tuple(self.model[key].document for key in keys)
        assert got.vectors is not None
        expected = [self.model[key].vector for key in keys]
        np.testing.assert_array_equal(got.vectors, np.array(expected).reshape(len(keys), DIM))

    # -- life ---------------------------------------------------------------------------
    @rule()
    def reopen(self) -> None:
        self.db.close()
        with warnings.catch_warnings():
            warnings.simplefilter("error", IndexRebuiltWarning)  # a clean close leaves a good file
            self.db = Database(self.folder)
            self.col = self.db.get_collection("c")

    @rule()
    def compact(self) -> None:
        # the embedded store purges its tombstones; PostgreSQL deleted the rows at once
        purged = self.tombstones if self.BACKEND == "embedded" else 0
        assert self.col.compact() == purged
        self.tombstones = 0
        report = self.col.verify()
        assert report.ok, report.problems
        assert report.deleted_pending == 0

    @invariant()
    def same_count(self) -> None:
        assert len(self.col) == len(self.model)


SETTINGS = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class FlatEuclidean(StoreMachine):
    pass


class FlatCosine(StoreMachine):
    METRIC = "cosine"


class HnswEuclidean(StoreMachine):
    INDEX = "hnsw"
    PARAMS: ClassVar[dict[str, int] | None] = {"M": 4, "ef_construction": 40, "ef_search": 512}
    THRESHOLDS: ClassVar[list[int]] = [0, 8192]  # 0: filtered queries use the bitmap selector


class IvfOneList(StoreMachine):
    INDEX = "ivf"
    PARAMS: ClassVar[dict[str, int] | None] = {"nlist": 1, "nprobe": 1}
    THRESHOLDS: ClassVar[list[int]] = [0, 8192]


TestFlatEuclidean = FlatEuclidean.TestCase
TestFlatEuclidean.settings = SETTINGS
TestFlatCosine = FlatCosine.TestCase
TestFlatCosine.settings = SETTINGS
TestHnswEuclidean = HnswEuclidean.TestCase
TestHnswEuclidean.settings = SETTINGS
TestIvfOneList = IvfOneList.TestCase
TestIvfOneList.settings = SETTINGS


# -- the same machines on PostgreSQL ---------------------------------------------------------
PG_SETTINGS = settings(SETTINGS, max_examples=8, stateful_step_count=30)


class PgFlatEuclidean(StoreMachine):
    BACKEND = "postgres"


class PgFlatCosine(StoreMachine):
    BACKEND = "postgres"
    METRIC = "cosine"


class PgHnswEuclidean(StoreMachine):
    BACKEND = "postgres"
    INDEX = "hnsw"
    PARAMS: ClassVar[dict[str, int] | None] = {"M": 4, "ef_construction": 40, "ef_search": 512}
    THRESHOLDS: ClassVar[list[int]] = [0, 8192]


TestPgFlatEuclidean = PgFlatEuclidean.TestCase
TestPgFlatEuclidean.settings = PG_SETTINGS
TestPgFlatCosine = PgFlatCosine.TestCase
TestPgFlatCosine.settings = PG_SETTINGS
TestPgHnswEuclidean = PgHnswEuclidean.TestCase
TestPgHnswEuclidean.settings = PG_SETTINGS

"""Recall@10 of every ANN index kind against the ``flat`` kind, with and without filters.

Data: 20,000 points in 32 dimensions drawn around 100 Gaussian cluster centres (fixed
seed), queries drawn the same way; 128-bit codes with 10% of bits flipped around 100
random centres for hamming. Each row carries ``{"p": i % 1000}``, so ``p < 500``, ``p < 50``
and ``p == 7`` select 50%, 5% and 0.1% of the rows.

Recall counts a returned row as a hit when its distance is within the exact k-th distance
(ties at the k-th place are common for hamming; for float data this is recall by id).
Returned distances are checked against numpy first, so an index cannot earn recall by
reporting wrong distances. Each filter is run twice: through the planner as it chooses
(``exact_threshold`` left at its default: exact scan at or below 8,192 candidates) and
with ``exact_threshold=0``, which sends every filter that allows at least 5% of the rows to
the ANN index with its bitmap selector (narrower filters are always scanned exactly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embedlab.store import Collection, Database, QueryResult

N = 20_000
DIM = 32
BITS = 128
CLUSTERS = 100
QUERIES = 100
K = 10
NLIST = 64
THRESHOLD = 0.95
SEED = 20_240_611

FILTERS: dict[str, dict[str, Any] | None] = {
    "all": None,
    "50%": {"p": {"$lt": 500}},
    "5%": {"p": {"$lt": 50}},
    "0.1%": {"p": 7},
}

# (index kind, metric, index_params). Slow: ivf-pq (PQ training ~15 s on two cores) and
# hnsw-euclidean (~7 s to build; hnsw-cosine covers the same code in the default run).
KINDS: dict[str, tuple[str, str, dict[str, int]]] = {
    "hnsw-cosine": ("hnsw", "cosine", {}),
    "hnsw-euclidean": ("hnsw", "euclidean", {}),
    "ivf-cosine": ("ivf", "cosine", {"nlist": NLIST}),
    "ivf-pq-cosine": ("ivf-pq", "cosine", {"nlist": NLIST}),
    "binary-hamming": ("binary", "hamming", {}),
}
SLOW_KINDS = {"ivf-pq-cosine", "hnsw-euclidean"}


# ---------------------------------------------------------------------------------------------
# Data, collections and the measure


@dataclass(frozen=True)
class Data:
    vectors: np.ndarray
    queries: np.ndarray
    bits: np.ndarray
    bit_queries: np.ndarray
    ids: list[str]
    metadata: list[dict[str, Any]]

    def rows(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """The stored rows and the queries for a metric."""
        if metric == "hamming":
            return self.bits, self.bit_queries
        return self.vectors, self.queries


def make_data(seed: int = SEED) -> Data:
    """Gaussian clusters (float) and noisy copies of random codes (bits)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIM))

    def around(count: int) -> np.ndarray:
        chosen = centres[rng.integers(0, CLUSTERS, size=count)]
        return (chosen + 0.35 * rng.normal(size=(count, DIM))).astype(np.float32)

    codes = rng.integers(0, 2, size=(CLUSTERS, BITS), dtype=np.uint8)

    def flipped(count: int) -> np.ndarray:
        chosen = codes[rng.integers(0, CLUSTERS, size=count)]
        return chosen ^ (rng.random((count, BITS)) < 0.1).astype(np.uint8)

    return Data(
        vectors=around(N),
        queries=around(QUERIES),
        bits=flipped(N),
        bit_queries=flipped(QUERIES),
        ids=[f"v{i}" for i in range(N)],
        metadata=[{"p": i % 1000} for i in range(N)],
    )


def true_distances(metric: str, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """numpy's distances from one query to some rows (the store's definitions)."""
    if metric == "hamming":
        return np.count_nonzero(rows != query, axis=1).astype(np.float64)
    q, x = query.astype(np.float64), rows.astype(np.float64)
    if metric == "euclidean":
        return np.linalg.norm(x - q, axis=1)
    return 1.0 - (x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))


def recall(
    found: list[QueryResult],
    exact: list[QueryResult],
    *,
    metric: str,
    rows: np.ndarray,
    queries: np.ndarray,
    allowed: Callable[[int], bool] = lambda _: True,
) -> float:
    """Tie-aware recall@K, after checking each returned row is allowed and its distance true."""
    hits = wanted = 0
    for query, got, truth in zip(queries, found, exact, strict=True):
        positions = [int(key[1:]) for key in got.ids]
        assert len(set(positions)) == len(positions)
        assert all(allowed(p) for p in positions), "a row outside the filter came back"
        if positions:
            np.testing.assert_allclose(
                got.distances, true_distances(metric, query, rows[positions]), atol=1e-4
            )
        want = len(truth.ids)
        if want:
            kth = float(truth.distances[-1])
            hits += min(want, int(np.count_nonzero(got.distances <= kth + 1e-5)))
            wanted += want
    return hits / wanted


@pytest.fixture(scope="module")
def data() -> Data:
    return make_data()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recall")


@pytest.fixture(scope="module")
def built(data: Data, folder: Path) -> Iterator[Callable[[str], Collection]]:
    """Collections over all of ``data``, built on first use: a kind name or flat-<metric>."""
    db = Database(folder / "shared")
    cache: dict[str, Collection] = {}

    def get(name: str) -> Collection:
        if name not in cache:
            kind, metric, params = KINDS.get(name) or ("flat", name.split("-")[1], {})
            col = db.create_collection(
                name,
                dim=BITS if metric == "hamming" else DIM,
                metric=metric,
                index=kind,
                index_params=params,
            )
            col.add(data.ids, data.rows(metric)[0], metadata=data.metadata)
            cache[name] = col
        return cache[name]

    yield get
    db.close()


def kind_params(names: list[str]) -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_KINDS else n for n in names]


def recall_cases() -> Iterator[Any]:
    for name in KINDS:
        for label in FILTERS:
            for path in ("planner", "ann") if label != "all" else ("planner",):
                marks = [pytest.mark.slow] if name in SLOW_KINDS else []
                yield pytest.param(name, label, path, marks=marks, id=f"{name}-{label}-{path}")


# ---------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize(("name", "label", "path"), list(recall_cases()))
def test_recall_against_flat(
    built: Callable[[str], Collection], data: Data, name: str, label: str, path: str
) -> None:
    _, metric, _ = KINDS[name]
    rows, queries = data.rows(metric)
    where = FILTERS[label]
    threshold = {"exact_threshold": 0} if path == "ann" else {}
    exact = built(f"flat-{metric}").query(queries, k=K, where=where, include=())
    found = built(name).query(queries, k=K, where=where, include=(), **threshold)
    assert isinstance(found, list)
    assert isinstance(exact, list)
    allowed = {
        "all": lambda p: True,
        "50%": lambda p: p % 1000 < 500,
        "5%": lambda p: p % 1000 < 50,
        "0.1%": lambda p: p % 1000 == 7,
    }[label]
    measured = recall(found, exact, metric=metric, rows=rows, queries=queries, allowed=allowed)
    assert all(len(r.ids) == K for r in found), "fewer than k rows although more match"
    assert measured >= THRESHOLD, f"recall@{K} {measured:.4f} < {THRESHOLD}"


@pytest.mark.parametrize(
    ("kind", "params", "before"),
    [
        ("ivf", {"nlist": NLIST}, 39 * NLIST - 1),
        pytest.param("ivf-pq", {"nlist": NLIST}, 39 * 256 - 1, marks=pytest.mark.slow),
    ],
)
def test_ivf_is_exact_until_trained(
    data: Data, folder: Path, kind: str, params: dict[str, int], before: int
) -> None:
    """Below 39 x nlist vectors (39 x 256 PQ centroids for ivf-pq) queries are exact."""
    with Database(folder / f"untrained-{kind}") as db:
        col = db.create_collection("c", dim=DIM, index=kind, index_params=params)
        flat = db.create_collection("f", dim=DIM, index="flat")
        for target in (col, flat):
            target.add(data.ids[:before], data.vectors[:before], metadata=data.metadata[:before])
        for where in (None, {"p": {"$lt": 500}}):
            found = col.query(data.queries, k=K, where=where, include=(), exact_threshold=0)
            exact = flat.query(data.queries, k=K, where=where, include=())
            assert isinstance(found, list)
            assert isinstance(exact, list)
            for got, truth in zip(found, exact, strict=True):
                assert got.ids == truth.ids
                np.testing.assert_allclose(got.distances, truth.distances, atol=1e-6)

        # Crossing the threshold trains the index; recall must hold from then on.
        rest = slice(before, 2 * before + 2)
        for target in (col, flat):
            target.add(data.ids[rest], data.vectors[rest], metadata=data.metadata[rest])
        found = col.query(data.queries, k=K, include=())
        exact = flat.query(data.queries, k=K, include=())
        assert isinstance(found, list)
        assert isinstance(exact, list)
        rows = data.vectors[: 2 * before + 2]
        measured = recall(found, exact, metric="cosine", rows=rows, queries=data.queries)
        assert measured >= THRESHOLD


@pytest.mark.parametrize("name", kind_params(["hnsw-cosine", "ivf-cosine", "ivf-pq-cosine"]))
def test_recall_after_deleting_30_percent(data: Data, folder: Path, name: str) -> None:
    kind, metric, params = KINDS[name]
    rng = np.random.default_rng(SEED + 1)
    gone = rng.choice(N, size=int(0.3 * N), replace=False)
    gone_ids = [data.ids[i] for i in gone.tolist()]
    dead = np.zeros(N, dtype=bool)
    dead[gone] = True
    with Database(folder / f"deleted-{name}") as db:
        col = db.create_collection("c", dim=DIM, metric=metric, index=kind, index_params=params)
        flat = db.create_collection("f", dim=DIM, metric=metric, index="flat")
        for target in (col, flat):
            target.add(data.ids, data.vectors, metadata=data.metadata)
            assert target.delete(gone_ids) == len(gone_ids)
        assert len(col) == N - len(gone_ids)
        for where, allowed in [
            (None, lambda p: True),
            ({"p": {"$lt": 500}}, lambda p: p % 1000 < 500),
            ({"p": {"$lt": 50}}, lambda p: p % 1000 < 50),
        ]:
            for threshold in (8192, 0):
                found = col.query(
                    data.queries, k=K, where=where, include=(), exact_threshold=threshold
                )
                exact = flat.query(data.queries, k=K, where=where, include=())
                assert isinstance(found, list)
                assert isinstance(exact, list)
                measured = recall(
                    found,
                    exact,
                    metric=metric,
                    rows=data.vectors,
                    queries=data.queries,
                    allowed=lambda p, allowed=allowed: allowed(p) and not dead[p],
                )
                assert measured >= THRESHOLD, (where, threshold, measured)

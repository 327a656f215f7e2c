"""ANN quality of a collection: recall@k of its index against exact search, and a sweep of
the index's search breadth (``ef_search`` for HNSW, ``nprobe`` for IVF kinds) printing
recall against queries per second, so parameters are picked with numbers.

- Queries are ``n_queries`` stored vectors drawn with ``seed`` (or the vectors given).
  A stored vector finds itself, so for those the query's own id is left out of both
  result lists (each asks for k + 1 and keeps the first k others).
- The exact answer is a brute-force scan of every live vector with the collection's
  metric (numpy, :func:`embedlab.metrics.pairwise`), independent of the store's search.
- recall@k = |ANN top k ∩ exact top k| / k, by id, averaged over the queries (ties in
  distance at the k-th place may cost a little recall that is not really lost).
- Queries per second: all queries in one batched ``Collection.query`` call, the best of
  ``repeats`` timed calls after one warm-up call.

Example:
    >>> import numpy as np, tempfile, embedlab
    >>> db = embedlab.Database(tempfile.mkdtemp())
    >>> col = db.create_collection("v", dim=8, index="hnsw")
    >>> col.add([str(i) for i in range(300)], np.random.default_rng(0).normal(size=(300, 8)))
    >>> report = ann_sweep(col, k=5, n_queries=20, values=[8, 64])
    >>> report.parameter, [row.value for row in report.rows]
    ('ef_search', [8, 64])
    >>> db.close()
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.metrics import Metric, pairwise, top_k

if TYPE_CHECKING:
    from embedlab.store import Collection

__all__ = ["AnnReport", "SweepRow", "ann_recall", "ann_sweep", "exact_neighbours"]

_SWEEPS: dict[str, tuple[str, tuple[int, ...]]] = {
    "hnsw": ("ef_search", (16, 32, 64, 128, 256, 512)),
    "ivf": ("nprobe", (1, 2, 4, 8, 16, 32, 64, 128, 256)),
    "ivf_pq": ("nprobe", (1, 2, 4, 8, 16, 32, 64, 128, 256)),
    "ivf-pq": ("nprobe", (1, 2, 4, 8, 16, 32, 64, 128, 256)),
}


@dataclass(frozen=True)
class SweepRow:
    """One setting of the swept parameter (None: the index's default) and what it gave."""

    value: int | None
    recall: float
    queries_per_second: float


@dataclass(frozen=True)
class AnnReport:
    """Recall@k against exact search and speed, for each setting tried."""

    collection: str
    index: str
    parameter: str | None
    k: int
    queries: int
    rows: tuple[SweepRow, ...]
    self_queries: bool

    def describe(self) -> str:
        """The table and how to read it, in plain words."""
        name = self.parameter or "(no search parameter)"
        what = "stored vectors as queries (each leaving itself out)"
        lines = [
            f"ANN quality of {self.collection!r} ({self.index} index): recall@{self.k} against "
            f"exact search over {self.queries} {what if self.self_queries else 'queries'}; "
            "recall 1.0 means the index found every true neighbour.",
            f"  {name:>12}  recall@{self.k}  queries/s",
            *(
                f"  {'default' if r.value is None else r.value:>12}  {r.recall:9.4f}  "
                f"{r.queries_per_second:9.0f}"
                for r in self.rows
            ),
        ]
        if self.parameter:
            lines.append(
                f"Larger {self.parameter} searches more of the index: higher recall, fewer "
                "queries per second. Pick the smallest value that reaches the recall you need "
                f"(set it per query with search_params={{'{self.parameter}': N}})."
            )
        return "\n".join(lines)


def exact_neighbours(
    vectors: npt.ArrayLike, queries: npt.ArrayLike, k: int, metric: str | Metric
) -> np.ndarray:
    """Row numbers of the k nearest ``vectors`` to each query by brute force, best first.

    Example:
        >>> exact_neighbours(np.eye(3), [[1.0, 0.1, 0.0]], 2, "cosine").tolist()
        [[0, 1]]
    """
    parsed = Metric.parse(metric, name="metric")
    q = np.asarray(queries)
    out = np.empty((len(q), min(k, len(np.asarray(vectors)))), dtype=np.int64)
    for start in range(0, len(q), 64):
        scores = pairwise(parsed, q[start : start + 64], vectors)
        out[start : start + 64] = top_k(scores, k, largest=parsed.higher_is_better)[0]
    return out


def ann_recall(
    collection: Collection,
    *,
    k: int = 10,
    queries: npt.ArrayLike | None = None,
    n_queries: int = 200,
    search_params: dict[str, int] | None = None,
    seed: int = 0,
) -> float:
    """recall@k of the collection's index against exact search (see the module docstring).

    Example:
        >>> import numpy as np, tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("v", dim=4, index="flat")
        >>> col.add([str(i) for i in range(50)], np.random.default_rng(1).normal(size=(50, 4)))
        >>> ann_recall(col, k=5, n_queries=10)
        1.0
        >>> db.close()
    """
    value = None if not search_params else next(iter(search_params.values()))
    name = None if not search_params else next(iter(search_params))
    report = _measure(collection, k, queries, n_queries, seed, name, [value], repeats=0)
    return report.rows[0].recall


def ann_sweep(
    collection: Collection,
    *,
    k: int = 10,
    queries: npt.ArrayLike | None = None,
    n_queries: int = 200,
    values: Sequence[int] | None = None,
    repeats: int = 3,
    seed: int = 0,
) -> AnnReport:
    """Recall@k and queries/s for each value of the index's search breadth.

    ``values`` defaults to 16 … 512 for ``ef_search`` (HNSW) and 1 … 256 for ``nprobe``
    (IVF kinds, capped at the index's ``nlist``); an index with no such parameter (flat,
    binary) gives one row.
    """
    kind = collection.index
    parameter, defaults = _SWEEPS.get(kind, (None, ()))
    chosen: list[int | None] = [None]
    if parameter is not None:
        picked = list(values) if values is not None else list(defaults)
        if values is None and parameter == "nprobe":
            nlist = int(collection.index_params.get("nlist", max(defaults)))
            picked = [v for v in picked if v <= nlist] or [nlist]
        chosen = [check_int(parameter, v, minimum=1) for v in picked]
    repeats = check_int("repeats", repeats, minimum=1)
    return _measure(collection, k, queries, n_queries, seed, parameter, chosen, repeats)


def _measure(
    collection: Collection,
    k: int,
    queries: npt.ArrayLike | None,
    n_queries: int,
    seed: int,
    parameter: str | None,
    values: Sequence[int | None],
    repeats: int,
) -> AnnReport:
    k = check_int("k", k, minimum=1, maximum=1000)
    n_queries = check_int("n_queries", n_queries, minimum=1)
    collection.wait_for_index()
    stored = collection.get(include=["vectors"])
    if stored.vectors is None or len(stored.ids) == 0:
        raise InvalidParameterError(f"collection {collection.name!r} is empty; nothing to measure")
    ids = np.array(stored.ids, dtype=object)
    matrix = np.asarray(stored.vectors)
    self_queries = queries is None
    if queries is None:
        rng = np.random.default_rng(seed)
        picks = np.sort(rng.choice(len(ids), size=min(n_queries, len(ids)), replace=False))
        q = matrix[picks]
        own: list[str | None] = [str(i) for i in ids[picks]]
    else:
        q = np.asarray(queries, dtype=matrix.dtype)
        if q.ndim != 2 or q.shape[1] != matrix.shape[1]:
            raise DimensionMismatchError(
                f"queries must be a 2-D array of {matrix.shape[1]} columns; got shape {q.shape}"
            )
        own = [None] * len(q)
    fetch = min(k + (1 if self_queries else 0), len(ids))
    truth_rows = exact_neighbours(matrix, q, fetch, collection.metric)
    truth = [
        _others([str(i) for i in ids[r]], me, k) for r, me in zip(truth_rows, own, strict=True)
    ]
    rows: list[SweepRow] = []
    for value in values:
        params = None if parameter is None or value is None else {parameter: value}
        results = _query(collection, q, fetch, params)
        found = [_others(list(res.ids), me, k) for res, me in zip(results, own, strict=True)]
        recall = float(
            np.mean(
                [len(set(f) & set(t)) / max(1, len(t)) for f, t in zip(found, truth, strict=True)]
            )
        )
        qps = float("nan")
        if repeats:
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                _query(collection, q, fetch, params)
                best = min(best, time.perf_counter() - start)
            qps = len(q) / best if best > 0 else float("inf")
        rows.append(SweepRow(value, recall, qps))
    return AnnReport(
        collection.name, collection.index, parameter, k, len(q), tuple(rows), self_queries
    )


def _query(collection: Collection, q: np.ndarray, k: int, params: dict[str, int] | None) -> Any:
    return collection.query(q, k=k, include=(), search_params=params)


def _others(found: list[str], me: str | None, k: int) -> list[str]:
    return [i for i in found if i != me][:k]

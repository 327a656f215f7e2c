"""k-nearest-neighbour graphs and range searches through faiss, in bounded memory.

Every analysis that needs neighbours (outliers, duplicates, k-NN classification) goes
through here. Queries are processed in blocks of ``block`` rows against a flat (exact)
faiss index, so memory is the vectors plus ``block x k`` results, never ``n x n``.
Cosine is inner product on unit rows; euclidean distances are true (not squared) L2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int
from embedlab.analysis._source import unit_rows
from embedlab.errors import InvalidParameterError

__all__ = ["KnnGraph", "NeighborMetric", "knn_graph", "knn_search"]

DEFAULT_BLOCK = 4096
"""Query rows per faiss call: 4096 x k results at a time, whatever n is."""


class NeighborMetric(StrEnumOption):
    """How neighbours are measured: cosine similarity or euclidean distance."""

    COSINE = "cosine"
    EUCLIDEAN = "euclidean"


@dataclass(frozen=True)
class KnnGraph:
    """Each row's k nearest other rows: ``indices[i]`` nearest first, with ``distances``.

    Distances are ``1 - cosine`` for cosine and L2 for euclidean, so smaller is nearer.
    """

    indices: npt.NDArray[np.int64]
    distances: npt.NDArray[np.float32]
    metric: NeighborMetric


def _index(base: npt.NDArray[np.float32], metric: NeighborMetric) -> object:
    import faiss

    index = (
        faiss.IndexFlatIP(base.shape[1])
        if metric is NeighborMetric.COSINE
        else faiss.IndexFlatL2(base.shape[1])
    )
    index.add(base)
    return index


def prepare(vectors: npt.NDArray[np.float32], metric: NeighborMetric) -> npt.NDArray[np.float32]:
    """The rows faiss sees: unit rows for cosine, a contiguous float32 copy otherwise."""
    if metric is NeighborMetric.COSINE:
        return unit_rows(vectors)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def knn_search(
    base: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    k: int,
    *,
    metric: NeighborMetric | str = "cosine",
    block: int = DEFAULT_BLOCK,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The k nearest base rows to each query row: (distances, indices), nearest first.

    Example:
        >>> import numpy as np
        >>> base = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
        >>> d, i = knn_search(base, base[:1], 2)
        >>> i.tolist()
        [[0, 2]]
    """
    m = NeighborMetric.parse(metric, name="metric")
    k = check_int("k", k, maximum=len(base))
    index = _index(prepare(base, m), m)
    q = prepare(queries, m)
    dist = np.empty((len(q), k), dtype=np.float32)
    idx = np.empty((len(q), k), dtype=np.int64)
    for start in range(0, len(q), block):
        d, i = index.search(q[start : start + block], k)  # type: ignore[attr-defined]
        dist[start : start + block] = _distances(d, m)
        idx[start : start + block] = i
    return dist, idx


def knn_graph(
    vectors: npt.NDArray[np.float32],
    k: int,
    *,
    metric: NeighborMetric | str = "cosine",
    block: int = DEFAULT_BLOCK,
) -> KnnGraph:
    """Each row's k nearest *other* rows (itself left out, even among exact copies).

    Example:
        >>> import numpy as np
        >>> g = knn_graph(np.array([[0.0], [1.0], [3.0]]), 1, metric="euclidean")
        >>> g.indices[:, 0].tolist(), g.distances[:, 0].tolist()
        ([1, 0, 1], [1.0, 1.0, 2.0])
    """
    m = NeighborMetric.parse(metric, name="metric")
    n = len(vectors)
    if n < 2:
        raise InvalidParameterError(f"a neighbour graph needs at least 2 rows, got {n}")
    k = check_int("k", k, maximum=n - 1)
    base = prepare(np.asarray(vectors, dtype=np.float32), m)
    index = _index(base, m)
    dist = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        stop = min(start + block, n)
        d, i = index.search(base[start:stop], k + 1)  # type: ignore[attr-defined]
        d = _distances(d, m)
        rows = np.arange(start, stop)[:, None]
        is_self = i == rows
        # Drop the row itself; if it is absent (ties with copies), drop the last hit.
        missing = ~is_self.any(axis=1)
        is_self[missing, -1] = True
        keep = ~is_self
        idx[start:stop] = i[keep].reshape(stop - start, k)
        dist[start:stop] = d[keep].reshape(stop - start, k)
    return KnnGraph(idx, dist, m)


def _distances(raw: npt.NDArray[np.float32], metric: NeighborMetric) -> npt.NDArray[np.float32]:
    if metric is NeighborMetric.COSINE:
        return (np.float32(1.0) - raw).astype(np.float32)
    return np.sqrt(np.maximum(raw, 0)).astype(np.float32)

"""Nearest neighbours in the ORIGINAL space, for pages that must not lie about 2-D distances.

Exact (faiss flat, inner product on unit vectors for cosine) up to ``EXACT_LIMIT`` points;
above that faiss HNSW (M=32, efSearch=128), and the result says it is approximate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int

__all__ = ["EXACT_LIMIT", "Neighbours", "nearest_neighbours"]

EXACT_LIMIT = 20_000


@dataclass(frozen=True)
class Neighbours:
    """``ids[i]`` are the rows nearest to row i (itself excluded), best first, with
    ``scores`` (cosine similarity, or negated squared distance for euclidean)."""

    ids: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float32]
    exact: bool


def nearest_neighbours(
    vectors: npt.NDArray[np.float32], *, k: int = 10, metric: str = "cosine"
) -> Neighbours:
    """The k nearest other rows of every row.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype="float32")
        >>> nearest_neighbours(x, k=1).ids.tolist()
        [[1], [0], [1]]
    """
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = data.shape
    k = min(check_int("k", k, minimum=1), n - 1)
    if metric == "cosine":
        norms = np.linalg.norm(data, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        data = np.ascontiguousarray(data / norms)
    inner = metric == "cosine"
    exact = n <= EXACT_LIMIT
    index: Any
    if exact:
        index = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
    else:
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT if inner else faiss.METRIC_L2)
        index.hnsw.efSearch = 128
    index.add(data)
    scores, ids = index.search(data, k + 1)
    # Drop each row itself (usually first; not always with ties or approximate search).
    out_ids = np.empty((n, k), dtype=np.int32)
    out_scores = np.empty((n, k), dtype=np.float32)
    for i in range(n):
        keep = (ids[i] != i) & (ids[i] >= 0)
        row_ids, row_scores = ids[i][keep][:k], scores[i][keep][:k]
        out_ids[i, : len(row_ids)] = row_ids
        out_scores[i, : len(row_ids)] = row_scores
        out_ids[i, len(row_ids) :] = -1
        out_scores[i, len(row_ids) :] = np.nan
    if not inner:
        out_scores = -out_scores
    return Neighbours(out_ids, out_scores, exact)

"""Outliers: rows far from their neighbours, scored from a k-NN graph (never ``n x n``).

Two scores, both higher for more unusual rows:
- ``knn``: the distance to the k-th nearest other row (Ramaswamy et al. 2000).
- ``lof``: the local outlier factor (Breunig et al. 2000): a row's local reachability
  density compared with its neighbours'; about 1 inside a cluster, well above 1 outside.
  It equals scikit-learn's ``-LocalOutlierFactor(n_neighbors=k).negative_outlier_factor_``
  on the same metric (tested), computed from faiss neighbours in blocks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int
from embedlab.analysis._source import as_source
from embedlab.analysis.neighbors import DEFAULT_BLOCK, knn_graph

__all__ = ["OutlierMethod", "Outliers", "find_outliers"]


class OutlierMethod(StrEnumOption):
    """How rows are scored: k-NN distance or local outlier factor."""

    KNN = "knn"
    LOF = "lof"


@dataclass(frozen=True)
class Outliers:
    """Every row's score (``scores[i]`` for ``keys[i]``) and the rows ranked, worst first."""

    keys: tuple[str, ...]
    scores: npt.NDArray[np.float32]
    order: npt.NDArray[np.int64]
    method: OutlierMethod
    k: int
    seconds: float

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        """The n highest-scoring rows as (key, score)."""
        return [(self.keys[i], float(self.scores[i])) for i in self.order[:n].tolist()]

    def to_dict(self, n: int = 10) -> dict[str, Any]:
        """A JSON-ready dict with the top n rows."""
        return {
            "method": self.method.value,
            "k": self.k,
            "top": [{"id": key, "score": s} for key, s in self.top(n)],
            "seconds": self.seconds,
        }


def find_outliers(
    data: Any,
    *,
    method: OutlierMethod | str = "lof",
    k: int = 20,
    metric: str = "cosine",
    block: int = DEFAULT_BLOCK,
) -> Outliers:
    """Score every row by how far it sits from its k nearest neighbours.

    ``k`` above the number of other rows is lowered to it (a stated adjustment: the
    result's ``k`` says what was used).

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [0.1], [0.2], [0.3], [5.0]])
        >>> find_outliers(x, k=2, metric="euclidean").top(1)[0][0]
        '4'
    """
    src = as_source(data)
    m = OutlierMethod.parse(method, name="method")
    k = check_int("k", k)
    started = time.perf_counter()
    k = min(k, len(src) - 1)
    graph = knn_graph(src.vectors, max(k, 1), metric=metric, block=block)
    kdist = graph.distances[:, -1]
    if m is OutlierMethod.KNN:
        scores = kdist.astype(np.float32)
    else:
        reach = np.maximum(graph.distances, kdist[graph.indices])
        mean_reach = reach.mean(axis=1, dtype=np.float64)
        with np.errstate(divide="ignore"):
            lrd = 1.0 / (mean_reach + 1e-10)  # as scikit-learn: copies do not divide by zero
        scores = (lrd[graph.indices].mean(axis=1) / lrd).astype(np.float32)
    order = np.argsort(-scores, kind="stable").astype(np.int64)
    return Outliers(src.keys, scores, order, m, k, time.perf_counter() - started)

"""``hnsw``: a hierarchical navigable small-world graph (faiss IndexHNSWFlat).

Parameters: ``M`` (graph degree), ``ef_construction`` (breadth while building) and
``ef_search`` (breadth while searching, also settable per query). A filtered search
widens ``ef_search`` by 1/sqrt(selectivity) so recall holds when the filter is narrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.metrics import Metric
from embedlab.store.index._faiss import (
    check_loaded,
    deserialize,
    faiss,
    faiss_metric,
    float_search,
    overrides_or,
    search_params,
    serialize,
)
from embedlab.store.index.base import AnnIndex, ParamSpec, SearchOutput, widen

_MAX_EF = 1 << 15


class HnswIndex(AnnIndex):
    """Approximate search on an HNSW graph over the exact vectors."""

    kind = "hnsw"
    metrics = frozenset({Metric.COSINE, Metric.DOT, Metric.EUCLIDEAN, Metric.MANHATTAN})
    params_spec = {  # noqa: RUF012 - read-only table
        "M": ParamSpec(16, minimum=2, maximum=256),
        "ef_construction": ParamSpec(100, maximum=_MAX_EF),
        "ef_search": ParamSpec(64, maximum=_MAX_EF, per_query=True),
    }

    binary_codes = False
    breadth = "ef_search"

    def __init__(
        self, dim: int, metric: Metric, params: Mapping[str, int], *, index: Any = None
    ) -> None:
        super().__init__(dim, metric, params)
        if index is None:
            index = faiss.IndexHNSWFlat(dim, self.params["M"], faiss_metric(metric))
            index.hnsw.efConstruction = self.params["ef_construction"]
        self._index = index
        self._ef = -1

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: npt.NDArray[Any]) -> None:
        self._index.add(vectors)

    def search(
        self,
        queries: npt.NDArray[Any],
        k: int,
        *,
        allowed: npt.NDArray[np.uint8] | None = None,
        selectivity: float = 1.0,
        overrides: Mapping[str, int] | None = None,
    ) -> SearchOutput:
        ef = max(overrides_or(self.params, overrides, "ef_search"), k)
        if selectivity < 1.0:
            ef = widen(ef, selectivity, cap=max(_MAX_EF, k))
        if allowed is None and not self.binary_codes:
            # The common case: no SearchParameters object (its creation costs as much as
            # the rest of a small query's overhead).
            if self._ef != ef:  # reading it through SWIG costs as much as setting it
                self._index.hnsw.efSearch = ef
                self._ef = ef
            return float_search(self._index, queries, k)
        params, _keep = search_params(faiss.SearchParametersHNSW, allowed, efSearch=ef)
        scores, positions = self._index.search(queries, k, params=params)
        return scores, positions

    def to_bytes(self) -> bytes:
        return serialize(self._index)

    @classmethod
    def from_bytes(
        cls, data: bytes, dim: int, metric: Metric, params: Mapping[str, int]
    ) -> HnswIndex:
        index = deserialize(data)
        check_loaded(index, dim=dim, metric=faiss_metric(metric), kind=faiss.IndexHNSWFlat)
        return cls(dim, metric, params, index=index)

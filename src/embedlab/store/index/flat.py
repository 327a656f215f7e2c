"""``flat``: exact search over every vector (faiss IndexFlat, or IndexBinaryFlat for hamming)."""

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
    search_params,
    serialize,
)
from embedlab.store.index.base import AnnIndex, SearchOutput


class FlatIndex(AnnIndex):
    """Exact nearest neighbours; the reference every other kind is measured against."""

    kind = "flat"
    metrics = frozenset(Metric)

    def __init__(
        self, dim: int, metric: Metric, params: Mapping[str, int], *, index: Any = None
    ) -> None:
        super().__init__(dim, metric, params)
        if index is not None:
            self._index = index
        elif metric is Metric.HAMMING:
            self._index = faiss.IndexBinaryFlat(dim)
        else:
            self._index = faiss.IndexFlat(dim, faiss_metric(metric))

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
        params, _keep = search_params(faiss.SearchParameters, allowed)
        scores, positions = self._index.search(queries, k, params=params)
        return scores.astype(np.float32, copy=False), positions

    def to_bytes(self) -> bytes:
        return serialize(self._index)

    @classmethod
    def from_bytes(
        cls, data: bytes, dim: int, metric: Metric, params: Mapping[str, int]
    ) -> FlatIndex:
        binary = metric is Metric.HAMMING
        index = deserialize(data, binary=binary)
        if binary:
            check_loaded(index, dim=dim, metric=None, kind=faiss.IndexBinaryFlat)
        else:
            check_loaded(index, dim=dim, metric=faiss_metric(metric), kind=faiss.IndexFlat)
        return cls(dim, metric, params, index=index)

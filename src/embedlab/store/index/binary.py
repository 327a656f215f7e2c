"""``binary``: an HNSW graph over packed bit codes, ranked by hamming distance.

Same parameters as ``hnsw`` (faiss IndexBinaryHNSW); only for the hamming metric, whose
vectors the store packs 8 bits to a byte (the dimension must be a multiple of 8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from embedlab.errors import InvalidParameterError
from embedlab.metrics import Metric
from embedlab.store.index._faiss import check_loaded, deserialize, faiss
from embedlab.store.index.hnsw import HnswIndex


class BinaryHnswIndex(HnswIndex):
    """Approximate hamming search on an HNSW graph of bit codes."""

    kind = "binary"
    metrics = frozenset({Metric.HAMMING})
    binary_codes = True

    def __init__(
        self, dim: int, metric: Metric, params: Mapping[str, int], *, index: Any = None
    ) -> None:
        if index is None:
            index = faiss.IndexBinaryHNSW(dim, params["M"])
            index.hnsw.efConstruction = params["ef_construction"]
        super().__init__(dim, metric, params, index=index)

    @classmethod
    def check_combination(cls, params: Mapping[str, int], dim: int) -> None:
        if dim % 8:
            raise InvalidParameterError(
                f"index 'binary' needs a dimension (in bits) that is a multiple of 8; got {dim}"
            )

    @classmethod
    def from_bytes(
        cls, data: bytes, dim: int, metric: Metric, params: Mapping[str, int]
    ) -> BinaryHnswIndex:
        index = deserialize(data, binary=True)
        check_loaded(index, dim=dim, metric=None, kind=faiss.IndexBinaryHNSW)
        return cls(dim, metric, params, index=index)

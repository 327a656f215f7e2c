"""What the inverted-file kinds share: search exactly until trained, then train once.

An IVF index cannot be built before k-means has seen enough data, so it buffers vectors
until ``train_size`` exist (39 per centroid, faiss's own minimum), trains on them, adds
them, and adds everything after directly. Until then ``ready`` is False and the store
answers from its exact path.
"""

from __future__ import annotations

import io
from abc import abstractmethod
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
from embedlab.store.index.base import AnnIndex, SearchOutput

_TRAINED = b"T"
_BUFFERED = b"B"
_MAX_TRAIN = 256  # training points per centroid (faiss samples down to this anyway)
_SEED = 1234


class IvfBase(AnnIndex):
    """An IVF-family index that trains itself once enough vectors are there."""

    breadth = "nprobe"

    def __init__(
        self, dim: int, metric: Metric, params: Mapping[str, int], *, index: Any = None
    ) -> None:
        super().__init__(dim, metric, params)
        self._index = index
        self._nprobe = -1
        self._buffer: list[npt.NDArray[np.float32]] = []
        self._buffered = 0

    @staticmethod
    def faiss_metric_for(metric: Metric) -> int:
        """The faiss metric the index is built with for this collection metric."""
        return faiss_metric(metric)

    @abstractmethod
    def _make(self) -> Any:
        """A new, untrained faiss index with this collection's parameters."""

    @property
    def train_size(self) -> int:
        """How many vectors must exist before training: 39 per centroid."""
        return 39 * self.params["nlist"]

    @property
    def ntotal(self) -> int:
        return self._buffered if self._index is None else int(self._index.ntotal)

    @property
    def ready(self) -> bool:
        return self._index is not None

    def add(self, vectors: npt.NDArray[Any]) -> None:
        if self._index is not None:
            self._index.add(vectors)
            return
        self._buffer.append(np.array(vectors, dtype=np.float32))
        self._buffered += len(vectors)
        if self._buffered >= self.train_size:
            data = np.concatenate(self._buffer)
            index = self._make()
            sample = data
            if len(data) > _MAX_TRAIN * self.params["nlist"]:
                rng = np.random.default_rng(_SEED)
                chosen = rng.choice(len(data), _MAX_TRAIN * self.params["nlist"], replace=False)
                sample = data[np.sort(chosen)]
            index.cp.seed = _SEED
            index.train(sample)
            index.add(data)
            self._index, self._buffer, self._buffered, self._nprobe = index, [], 0, -1

    def search(
        self,
        queries: npt.NDArray[Any],
        k: int,
        *,
        allowed: npt.NDArray[np.uint8] | None = None,
        selectivity: float = 1.0,
        overrides: Mapping[str, int] | None = None,
    ) -> SearchOutput:
        if self._index is None:  # the store never asks before ready; be safe anyway
            return (
                np.zeros((len(queries), k), dtype=np.float32),
                np.full((len(queries), k), -1, dtype=np.int64),
            )
        nlist = self.params["nlist"]
        nprobe = overrides_or(self.params, overrides, "nprobe")
        if selectivity < 1.0:
            nprobe = int(np.ceil(nprobe / max(selectivity, 1e-6)))
        nprobe = min(nlist, nprobe)
        if allowed is None:
            if self._nprobe != nprobe:
                self._index.nprobe = nprobe
                self._nprobe = nprobe
            return float_search(self._index, queries, k)
        params, _keep = search_params(faiss.SearchParametersIVF, allowed, nprobe=nprobe)
        scores, positions = self._index.search(queries, k, params=params)
        return scores, positions

    def to_bytes(self) -> bytes:
        if self._index is not None:
            return _TRAINED + serialize(self._index)
        out = io.BytesIO()
        data = np.concatenate(self._buffer) if self._buffer else np.zeros((0, self.dim), "f4")
        np.save(out, data, allow_pickle=False)
        return _BUFFERED + out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, dim: int, metric: Metric, params: Mapping[str, int]) -> Any:
        tag, body = data[:1], data[1:]
        if tag == _TRAINED:
            index = deserialize(body)
            check_loaded(index, dim=dim, metric=cls.faiss_metric_for(metric), kind=faiss.IndexIVF)
            nlist = int(faiss.extract_index_ivf(index).nlist)
            if nlist != params["nlist"]:
                raise ValueError(f"expected nlist {params['nlist']}, found {nlist}")
            return cls(dim, metric, params, index=index)
        if tag != _BUFFERED:
            raise ValueError("not an IVF index state")
        vectors = np.load(io.BytesIO(body), allow_pickle=False)
        if vectors.ndim != 2 or vectors.shape[1] != dim or vectors.dtype != np.float32:
            raise ValueError("buffered IVF vectors have the wrong shape")
        out = cls(dim, metric, params)
        if len(vectors):
            out._buffer, out._buffered = [vectors], len(vectors)
        return out

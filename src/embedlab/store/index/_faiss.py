"""faiss glue shared by the index kinds: metric codes, ID selectors, (de)serialisation."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.metrics import Metric

# faiss's SWIG bindings are untyped in practice; treat the module as Any.
faiss: Any = importlib.import_module("faiss")

__all__ = [
    "check_loaded",
    "deserialize",
    "faiss",
    "faiss_metric",
    "float_search",
    "overrides_or",
    "search_params",
    "serialize",
    "squared_norm",
    "subset_knn",
    "unit_rows",
]


def faiss_metric(metric: Metric) -> int:
    """The faiss metric code that ranks like ``metric`` on vectors the store prepared."""
    if metric in (Metric.COSINE, Metric.DOT):  # cosine vectors arrive unit-normalised
        return int(faiss.METRIC_INNER_PRODUCT)
    if metric is Metric.EUCLIDEAN:
        return int(faiss.METRIC_L2)
    if metric is Metric.MANHATTAN:
        return int(faiss.METRIC_L1)
    raise ValueError(f"no float faiss metric for {metric}")  # pragma: no cover


def search_params(
    cls: Any, allowed: npt.NDArray[np.uint8] | None, **fields: int
) -> tuple[Any, list[Any]]:
    """A faiss SearchParameters object and the objects it points into (keep them alive)."""
    params = cls()
    keep: list[Any] = [params]
    if allowed is not None:
        selector = faiss.IDSelectorBitmap(len(allowed) * 8, faiss.swig_ptr(allowed))
        params.sel = selector
        keep += [selector, allowed]
    for name, value in fields.items():
        setattr(params, name, value)
    return params, keep


def float_search(
    index: Any, queries: npt.NDArray[np.float32], k: int, params: Any = None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``index.search`` with optional SearchParameters (scores, positions).

    Calls faiss's C entry point directly: the Python wrapper's checks and conversions cost
    a noticeable share of a one-query HNSW search (queries arrive as float32 rows here).
    """
    x = queries
    if x.dtype != np.float32 or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    scores = np.empty((n, k), dtype=np.float32)
    found = np.empty((n, k), dtype=np.int64)
    ptr = faiss.swig_ptr
    index.search_c(n, ptr(x), k, ptr(scores), ptr(found), params)
    return scores, found


def squared_norm(vector: npt.NDArray[np.float32]) -> float:
    """The sum of squares of a C-contiguous float32 array (every element: one vector, or one
    row as a 1 x d matrix), in one C call (no numpy warning: overflow gives inf, a NaN
    component gives NaN).

    Example:
        >>> squared_norm(np.array([3.0, 4.0], dtype=np.float32))
        25.0
    """
    return float(faiss.fvec_norm_L2sqr(faiss.swig_ptr(vector), vector.size))


def unit_rows(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A copy of a C-contiguous float32 matrix with unit rows (zero rows stay zero), in one
    C call after the copy.

    Example:
        >>> unit_rows(np.array([[3.0, 4.0]], dtype=np.float32))
        array([[0.6, 0.8]], dtype=float32)
    """
    out = matrix.copy()
    faiss.fvec_renorm_L2(out.shape[1], out.shape[0], faiss.swig_ptr(out))
    return out


def subset_knn(
    matrix: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    subset: npt.NDArray[np.int64],
    k: int,
    *,
    inner_product: bool,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Exact k best rows of ``matrix`` among ``subset`` for one query, without copying rows.

    Scores are inner products (largest first) or squared L2 (smallest first); faiss's SIMD
    kernels, which also avoid numpy's BLAS thread start-up on these small products.
    """
    rows = np.ascontiguousarray(matrix)
    x = np.ascontiguousarray(query, dtype=np.float32)
    ids = np.ascontiguousarray(subset, dtype=np.int64)
    scores = np.empty((1, k), dtype=np.float32)
    found = np.empty((1, k), dtype=np.int64)
    kernel = faiss.knn_inner_products_by_idx if inner_product else faiss.knn_L2sqr_by_idx
    kernel(
        faiss.swig_ptr(x),
        faiss.swig_ptr(rows),
        faiss.swig_ptr(ids),
        rows.shape[1],
        1,
        rows.shape[0],
        len(ids),
        k,
        faiss.swig_ptr(scores),
        faiss.swig_ptr(found),
        0,
    )
    return scores[0], found[0]


def serialize(index: Any) -> bytes:
    """faiss's own serialisation of a float or binary index."""
    if isinstance(index, faiss.IndexBinary):
        return bytes(faiss.serialize_index_binary(index))
    return bytes(faiss.serialize_index(index))


def deserialize(data: bytes, *, binary: bool = False) -> Any:
    """The inverse of :func:`serialize`; faiss raises RuntimeError on garbage."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if binary:
        return faiss.deserialize_index_binary(buffer)
    return faiss.deserialize_index(buffer)


def check_loaded(index: Any, *, dim: int, metric: int | None, kind: Any) -> None:
    """Raise ValueError unless a deserialised index has the expected class, dim and metric."""
    if not isinstance(index, kind):
        raise ValueError(f"expected a {kind.__name__}, found {type(index).__name__}")
    if index.d != dim:
        raise ValueError(f"expected dimension {dim}, found {index.d}")
    if metric is not None and index.metric_type != metric:
        raise ValueError(f"expected metric {metric}, found {index.metric_type}")


def overrides_or(params: Mapping[str, int], overrides: Mapping[str, int] | None, name: str) -> int:
    """A per-query override of parameter ``name`` if given, else the collection's value."""
    if overrides and name in overrides:
        return int(overrides[name])
    return int(params[name])

"""Similarity metrics between vectors, and the helpers that rank by them.

Every metric takes ``a`` and ``b`` as one vector, shape ``(d,)``, or a matrix of row
vectors, shape ``(m, d)`` / ``(n, d)``, and compares each row of ``a`` with each row of
``b``:

==========  ==========  ===========================
a           b           result
==========  ==========  ===========================
``(d,)``    ``(d,)``    0-d array (``float(r)`` works)
``(d,)``    ``(n, d)``  ``(n,)``
``(m, d)``  ``(d,)``    ``(m,)``
``(m, d)``  ``(n, d)``  ``(m, n)``
==========  ==========  ===========================

The float metrics (cosine, dot, euclidean, manhattan) compute in float32 and return
float32. :func:`hamming` compares packed bit codes (uint8, as from ``np.packbits``) and
returns exact int32 counts. :class:`Metric` names them; :func:`pairwise` dispatches by
name and :func:`top_k` ranks the scores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError

__all__ = [
    "Metric",
    "cosine",
    "dot",
    "euclidean",
    "hamming",
    "manhattan",
    "normalize",
    "pairwise",
    "top_k",
]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]

# Elements in one (rows_a, rows_b, d) temporary of the broadcasting metrics: 16 MiB of float32.
_BLOCK_ELEMENTS = 1 << 22

# Number of set bits in each byte value.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class Metric(StrEnumOption):
    """The metrics embedlab knows, as a str enum (``Metric.parse("Cosine", name="metric")``).

    Example:
        >>> Metric.parse("euclidean", name="metric").higher_is_better
        False
        >>> Metric.COSINE.higher_is_better
        True
    """

    COSINE = "cosine"
    DOT = "dot"
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"
    HAMMING = "hamming"

    @property
    def higher_is_better(self) -> bool:
        """True for similarities (cosine, dot), False for distances."""
        return self in (Metric.COSINE, Metric.DOT)


def normalize(x: npt.ArrayLike) -> FloatArray:
    """Return x (a vector or a matrix of rows) scaled to unit L2 norm, as a new float32 array.

    Zero rows stay zero rather than becoming NaN.

    Example:
        >>> normalize([[3.0, 4.0], [0.0, 0.0]]).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    return _unit_rows(_operand(x, "x", binary=False))


def cosine(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Cosine similarity in [-1, 1]; a zero vector has similarity 0 with everything.

    Example:
        >>> cosine([1.0, 0.0], [[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]]).tolist()
        [1.0, 0.0, -1.0, 0.0]
    """
    x, y, shape = _operands(a, b, binary=False)
    out = _unit_rows(x) @ _unit_rows(y).T
    np.clip(out, -1.0, 1.0, out=out)
    return out.reshape(shape)


def dot(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Inner product.

    Example:
        >>> dot([1.0, 2.0], [[3.0, 4.0], [0.5, 0.0]]).tolist()
        [11.0, 0.5]
    """
    x, y, shape = _operands(a, b, binary=False)
    with np.errstate(over="ignore", invalid="ignore"):
        out: FloatArray = x @ y.T
    return _check_finite(out, "dot products").reshape(shape)


def euclidean(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Euclidean (L2) distance, via ``|a|² - 2 a·b + |b|²`` and one matrix product.

    The expansion is fast but loses precision between near-identical vectors: there the
    absolute error is about ``1e-3 * |a|`` in float32 (tiny negative squares are clipped
    to 0, so the result is never NaN).

    Example:
        >>> euclidean([0.0, 0.0], [[3.0, 4.0], [0.0, 0.0]]).tolist()
        [5.0, 0.0]
    """
    x, y, shape = _operands(a, b, binary=False)
    scale = max(float(np.abs(x).max(initial=0.0)), float(np.abs(y).max(initial=0.0)))
    if scale > _SAFE:  # huge components: compute on x / scale, exact up to rounding
        x, y = x / np.float32(scale), y / np.float32(scale)
    else:
        scale = 1.0
    out: FloatArray = x @ y.T
    out *= -2.0
    out += np.einsum("ij,ij->i", x, x)[:, None]
    out += np.einsum("ij,ij->i", y, y)[None, :]
    np.maximum(out, 0.0, out=out)
    np.sqrt(out, out=out)
    if scale != 1.0:
        with np.errstate(over="ignore"):
            out *= np.float32(scale)
    return _check_finite(out, "distances").reshape(shape)


def manhattan(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Manhattan (L1, city-block) distance, broadcast in blocks of bounded memory.

    Example:
        >>> manhattan([0.0, 0.0], [[3.0, -4.0], [1.0, 1.0]]).tolist()
        [7.0, 2.0]
    """
    x, y, shape = _operands(a, b, binary=False)

    def kernel(xa: FloatArray, yb: FloatArray) -> FloatArray:
        diff = xa[:, None, :] - yb[None, :, :]
        np.abs(diff, out=diff)
        total: FloatArray = diff.sum(axis=2, dtype=np.float32)
        return total

    out: FloatArray = _blockwise(x, y, kernel, np.dtype(np.float32))
    return out.reshape(shape)


def hamming(a: npt.ArrayLike, b: npt.ArrayLike) -> IntArray:
    """Number of differing bits between packed bit codes (uint8, as from ``np.packbits``).

    Returns exact counts as int32.

    Example:
        >>> import numpy as np
        >>> code = np.packbits([1, 0, 1, 1, 0, 0, 0, 0])
        >>> hamming(code, np.packbits([[1, 0, 1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 1, 1, 1, 1]], axis=1))
        array([0, 8], dtype=int32)
    """
    x, y, shape = _operands(a, b, binary=True)

    def kernel(xa: npt.NDArray[np.uint8], yb: npt.NDArray[np.uint8]) -> IntArray:
        bits = _POPCOUNT[np.bitwise_xor(xa[:, None, :], yb[None, :, :])]
        total: IntArray = bits.sum(axis=2, dtype=np.int32)
        return total

    out: IntArray = _blockwise(x, y, kernel, np.dtype(np.int32))
    return out.reshape(shape)


_FUNCTIONS: dict[Metric, Callable[[npt.ArrayLike, npt.ArrayLike], npt.NDArray[Any]]] = {
    Metric.COSINE: cosine,
    Metric.DOT: dot,
    Metric.EUCLIDEAN: euclidean,
    Metric.MANHATTAN: manhattan,
    Metric.HAMMING: hamming,
}


def pairwise(metric: str | Metric, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[Any]:
    """Apply the metric named by ``metric`` (a :class:`Metric` or its string value).

    float32 for every metric but hamming, which gives int32.

    Example:
        >>> pairwise("dot", [1.0, 1.0], [[2.0, 3.0]]).tolist()
        [5.0]
    """
    return _FUNCTIONS[Metric.parse(metric, name="metric")](a, b)


def top_k(
    scores: npt.ArrayLike, k: int, *, largest: bool = True
) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """The k best entries of 1-D scores, or of each row of 2-D scores, best first.

    Returns ``(indices, values)`` of shape ``(k,)`` or ``(m, k)``; values keep the dtype
    of ``scores``. ``largest=False`` ranks the smallest first (for distances). k larger
    than the number of scores is clipped to it. Uses ``np.argpartition``, so the cost is
    linear in n plus ``k log k``; the order among equal scores is unspecified, and NaN
    scores rank last.

    Example:
        >>> idx, val = top_k([0.1, 0.9, 0.5, 0.7], 2)
        >>> idx.tolist(), val.tolist()
        ([1, 3], [0.9, 0.7])
        >>> top_k([[3, 1, 2]], 5, largest=False)[0].tolist()
        [[1, 2, 0]]
    """
    k = check_int("k", k, minimum=1)
    values = np.asarray(scores)
    if values.ndim not in (1, 2):
        raise DimensionMismatchError(
            f"scores must be 1-D (n,) or 2-D (m, n); got an array of shape {values.shape}"
        )
    if values.dtype.kind not in "biuf":
        raise InvalidParameterError(f"scores must be real numbers; got dtype {values.dtype}")
    n = values.shape[-1]
    k = min(k, n)
    if values.ndim == 1:
        indices = _best(values, k, largest)
    else:  # in blocks of rows, so that the temporaries stay small (and in cache)
        indices = np.empty((values.shape[0], k), dtype=np.intp)
        step = max(1, _BLOCK_ELEMENTS // max(n, 1))
        for i in range(0, values.shape[0], step):
            indices[i : i + step] = _best(values[i : i + step], k, largest)
    return indices, np.take_along_axis(values, indices, axis=-1)


# -- private helpers ----------------------------------------------------------------------


def _operand(value: npt.ArrayLike, name: str, *, binary: bool) -> npt.NDArray[Any]:
    """One operand as an array: a vector or a matrix, uint8 codes or float32 numbers."""
    arr = np.asarray(value)
    if arr.ndim not in (1, 2):
        raise DimensionMismatchError(
            f"{name} must be a vector (d,) or a matrix (n, d); got an array of shape {arr.shape}"
        )
    if binary:
        if arr.dtype != np.uint8:
            raise InvalidParameterError(
                f"hamming compares packed bit codes, which must be uint8 (as from np.packbits); "
                f"got {name} of dtype {arr.dtype}"
            )
        return arr
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def _operands(
    a: npt.ArrayLike, b: npt.ArrayLike, *, binary: bool
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], tuple[int, ...]]:
    """Both operands as 2-D arrays with equal widths, plus the shape of the result."""
    x = _operand(a, "a", binary=binary)
    y = _operand(b, "b", binary=binary)
    if x.shape[-1] != y.shape[-1]:
        raise DimensionMismatchError(
            f"a and b must have the same number of dimensions (last axis); "
            f"got a of shape {x.shape} and b of shape {y.shape}"
        )
    shape = x.shape[:-1] + y.shape[:-1]
    return np.atleast_2d(x), np.atleast_2d(y), shape


_SAFE = float(np.sqrt(np.finfo(np.float32).max / 4) / 4096)
"""Below this magnitude squares and sums of squares of up to 16M components stay finite."""


def _unit_rows(x: FloatArray) -> FloatArray:
    """Rows of a float32 vector or matrix divided by their norms; zero rows stay zero.

    Rows with huge (or tiny) components are first divided by their largest magnitude, so
    that their squares neither overflow nor underflow: the result is exact either way.
    """
    peak = np.abs(x).max(axis=-1, keepdims=True) if x.size else np.zeros((*x.shape[:-1], 1))
    if x.size and (peak.max() > _SAFE or (peak[peak > 0].min(initial=1.0) < 1 / _SAFE)):
        x = np.divide(x, peak, out=np.zeros_like(x), where=peak > 0)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out = np.zeros_like(x)
    np.divide(x, norms, out=out, where=norms > 0)
    return out


def _check_finite(out: FloatArray, what: str) -> FloatArray:
    """Refuse a result that overflowed float32 although the inputs were finite."""
    if not np.isfinite(out).all():
        raise InvalidParameterError(
            f"the {what} overflow float32 (the vectors' components are too large, about "
            f"1e19 or more); scale the vectors down first"
        )
    return out


def _best(values: npt.NDArray[Any], k: int, largest: bool) -> npt.NDArray[np.intp]:
    """Indices of the k best entries along the last axis, best first (0 < k <= n)."""
    key = values.astype(np.int64) if values.dtype.kind in "bu" else values
    if largest:
        key = np.negative(key)  # NaN stays NaN, which argpartition and argsort put last
    if k < key.shape[-1]:
        part = np.argpartition(key, k - 1, axis=-1)[..., :k]
        order = np.argsort(np.take_along_axis(key, part, axis=-1), axis=-1, kind="stable")
        best: npt.NDArray[np.intp] = np.take_along_axis(part, order, axis=-1)
        return best
    return np.argsort(key, axis=-1, kind="stable")


def _blockwise(
    x: npt.NDArray[Any],
    y: npt.NDArray[Any],
    kernel: Callable[[Any, Any], npt.NDArray[Any]],
    dtype: np.dtype[Any],
) -> npt.NDArray[Any]:
    """Fill the (m, n) result block by block so that a kernel's temporaries stay bounded."""
    m, n, d = x.shape[0], y.shape[0], max(x.shape[1], 1)
    out = np.empty((m, n), dtype=dtype)
    rows_b = max(1, min(n, _BLOCK_ELEMENTS // d))
    rows_a = max(1, min(m, _BLOCK_ELEMENTS // (rows_b * d)))
    for j in range(0, n, rows_b):
        yb = y[j : j + rows_b]
        for i in range(0, m, rows_a):
            out[i : i + rows_a, j : j + rows_b] = kernel(x[i : i + rows_a], yb)
    return out

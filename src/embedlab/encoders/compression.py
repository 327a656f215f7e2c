"""Smaller embeddings: int8 and binary quantization, Matryoshka truncation, and what they cost.

- :func:`quantize_int8` maps each dimension's range ``[min, max]`` onto the 256 int8
  codes (4x smaller); :func:`dequantize` maps codes back (error at most half a step).
- :func:`quantize_binary` keeps one sign bit per dimension, packed 8 to a byte (32x
  smaller), compared with :func:`embedlab.metrics.hamming`.
- :func:`truncate_matryoshka` keeps the first ``dim`` dimensions, which is what models
  trained with a Matryoshka loss are made for.
- :func:`recall_kept` measures, on your data, the recall@k of searching the compressed
  vectors against exact float32 search.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.metrics import Metric, hamming, normalize, pairwise, top_k

__all__ = [
    "CompressionMethod",
    "dequantize",
    "quantize_binary",
    "quantize_int8",
    "recall_kept",
    "truncate_matryoshka",
]


class CompressionMethod(StrEnumOption):
    """The compressions :func:`recall_kept` measures (``matryoshka`` takes a dimension)."""

    INT8 = "int8"
    BINARY = "binary"
    MATRYOSHKA = "matryoshka"


def quantize_int8(
    x: npt.ArrayLike, *, calibration: npt.ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantize rows to int8 codes with a per-dimension scale and offset.

    Each dimension's ``[min, max]`` (over ``calibration`` when given, for instance the
    corpus when quantizing queries, else over ``x``) is cut into 255 steps:
    ``codes = round((x - offset) / scale) - 128``, clipped to int8. Returns ``(codes,
    scale, offset)``, the last two float32 of shape ``(dim,)``.

    Example:
        >>> codes, scale, offset = quantize_int8([[0.0, -1.0], [1.0, 1.0]])
        >>> codes.tolist(), dequantize(codes, scale, offset).tolist()
        ([[-128, -128], [127, 127]], [[0.0, -1.0], [1.0, 1.0]])
    """
    data = _matrix(x, "x")
    ref = data if calibration is None else _matrix(calibration, "calibration")
    if ref.shape[1] != data.shape[1]:
        raise DimensionMismatchError(
            f"calibration has {ref.shape[1]} dimensions but x has {data.shape[1]}"
        )
    if len(ref) == 0:
        raise InvalidParameterError("quantize_int8 needs at least one row to calibrate on")
    low = ref.min(axis=0)
    span = ref.max(axis=0) - low
    scale = np.where(span > 0, span / np.float32(255.0), np.float32(1.0)).astype(np.float32)
    offset = low.astype(np.float32)
    steps = np.rint((data - offset) / scale) - 128.0
    codes = np.clip(steps, -128, 127).astype(np.int8)
    return codes, scale, offset


def dequantize(codes: npt.ArrayLike, scale: npt.ArrayLike, offset: npt.ArrayLike) -> np.ndarray:
    """Float32 values back from :func:`quantize_int8`'s codes, scale and offset.

    Example:
        >>> dequantize([[-128, 127]], [0.5, 1.0], [1.0, 0.0]).tolist()
        [[1.0, 255.0]]
    """
    array = np.asarray(codes)
    if array.dtype.kind not in "iu":
        raise InvalidParameterError(f"codes must be integers (int8); got dtype {array.dtype}")
    s = np.asarray(scale, dtype=np.float32)
    o = np.asarray(offset, dtype=np.float32)
    if s.shape != (array.shape[-1],) or o.shape != s.shape:
        raise DimensionMismatchError(
            f"scale {s.shape} and offset {o.shape} must both have shape ({array.shape[-1]},)"
        )
    out: np.ndarray = ((array.astype(np.float32) + np.float32(128.0)) * s + o).astype(np.float32)
    return out


def quantize_binary(x: npt.ArrayLike) -> np.ndarray:
    """One bit per dimension (1 where the value is > 0), packed into uint8 along the last axis.

    ``dim`` that is not a multiple of 8 is padded with zero bits, which every code shares,
    so Hamming distances are unaffected.

    Example:
        >>> quantize_binary([[0.3, -0.1, 0.0, 2.0, 1.0, -5.0, 0.1, 0.2, 0.9]]).tolist()
        [[155, 128]]
    """
    data = np.asarray(x, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise DimensionMismatchError(f"x must be 1-D or 2-D; got an array of shape {data.shape}")
    packed: np.ndarray = np.packbits(data > 0, axis=-1)
    return packed


def truncate_matryoshka(x: npt.ArrayLike, dim: int, *, renormalize: bool = True) -> np.ndarray:
    """Keep the first ``dim`` dimensions of each vector, scaled back to unit length by default.

    Example:
        >>> truncate_matryoshka([[3.0, 4.0, 12.0]], 2).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    data = np.asarray(x, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise DimensionMismatchError(f"x must be 1-D or 2-D; got an array of shape {data.shape}")
    dim = check_int("dim", dim, minimum=1, maximum=data.shape[-1])
    kept = np.ascontiguousarray(data[..., :dim])
    return normalize(kept) if renormalize else kept


def recall_kept(
    vectors: npt.ArrayLike,
    queries: npt.ArrayLike,
    *,
    method: str | CompressionMethod | tuple[str, int] = "int8",
    k: int = 10,
    metric: str | Metric = "cosine",
) -> float:
    """Recall@k of searching compressed vectors, with exact float32 search as the truth.

    For each query, the share of its exact top ``k`` (by ``metric``, ``cosine`` or ``dot``)
    that the compressed search also returns in its top ``k``, averaged over queries.
    ``method``:

    - ``"int8"``: vectors quantized with :func:`quantize_int8`, queries kept float32
      (asymmetric search, as an int8 index does), scored by ``metric``;
    - ``"binary"``: both sides by :func:`quantize_binary`, ranked by Hamming distance;
    - ``("matryoshka", dim)``: both sides truncated to ``dim``, scored by ``metric``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 32))
        >>> recall_kept(x, x[:20], method=("matryoshka", 32))
        1.0
        >>> recall_kept(x, x[:20], method="int8") > 0.9
        True
    """
    base = _matrix(vectors, "vectors")
    query = _matrix(queries, "queries")
    if base.shape[1] != query.shape[1]:
        raise DimensionMismatchError(
            f"queries have {query.shape[1]} dimensions but vectors have {base.shape[1]}"
        )
    if len(base) == 0 or len(query) == 0:
        raise InvalidParameterError("recall_kept needs at least one vector and one query")
    k = min(check_int("k", k), len(base))
    kind = Metric.parse(metric, name="metric")
    if kind not in (Metric.COSINE, Metric.DOT):
        raise InvalidParameterError(
            f"The 'metric' parameter must be one of 'cosine', 'dot'. Got {metric!r}."
        )
    name, dim = _method(method, base.shape[1])
    exact, _ = top_k(pairwise(kind, query, base), k)
    if name is CompressionMethod.INT8:
        codes, scale, offset = quantize_int8(normalize(base) if kind is Metric.COSINE else base)
        found, _ = top_k(pairwise(kind, query, dequantize(codes, scale, offset)), k)
    elif name is CompressionMethod.BINARY:
        scores = hamming(quantize_binary(query), quantize_binary(base))
        found, _ = top_k(scores.reshape(len(query), len(base)), k, largest=False)
    else:  # cosine renormalizes by itself; dot scores the raw leading dimensions
        short_q = truncate_matryoshka(query, dim, renormalize=False)
        short_b = truncate_matryoshka(base, dim, renormalize=False)
        found, _ = top_k(pairwise(kind, short_q, short_b), k)
    hits = sum(len(set(e.tolist()) & set(f.tolist())) for e, f in zip(exact, found, strict=True))
    return hits / (k * len(query))


def _method(
    method: str | CompressionMethod | tuple[str, int], dim: int
) -> tuple[CompressionMethod, int]:
    """(CompressionMethod, dimension kept) from "int8", "binary" or ("matryoshka", dim)."""
    if isinstance(method, tuple):
        if len(method) != 2:
            raise InvalidParameterError(
                f"The 'method' tuple must be ('matryoshka', dim). Got {method!r}."
            )
        kind = CompressionMethod.parse(method[0], name="method")
        if kind is not CompressionMethod.MATRYOSHKA:
            raise InvalidParameterError(
                f"Only 'matryoshka' takes a dimension; pass {kind.value!r} alone. Got {method!r}."
            )
        return kind, check_int("dim", method[1], minimum=1, maximum=dim)
    kind = CompressionMethod.parse(method, name="method")
    if kind is CompressionMethod.MATRYOSHKA:
        raise InvalidParameterError(
            "The 'matryoshka' method needs the dimension to keep: method=('matryoshka', 64)."
        )
    return kind, dim


def _matrix(x: npt.ArrayLike, name: str) -> np.ndarray:
    """x as a finite float32 (n, dim) matrix; a single vector becomes one row."""
    data = np.asarray(x, dtype=np.float32)
    if data.ndim == 1:
        data = data[None, :]
    if data.ndim != 2:
        raise DimensionMismatchError(
            f"{name} must be a vector or a (n, dim) matrix; got an array of shape {data.shape}"
        )
    if not np.all(np.isfinite(data)):
        raise InvalidParameterError(f"{name} holds NaN or infinite values")
    return data

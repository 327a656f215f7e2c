"""One view of vectors for every analysis: keys, a float32 matrix, and what came with them.

An analysis accepts an array (with ``keys=``), a :class:`~embedlab.vectors.WordVectors`, a
store :class:`~embedlab.store.Collection` (read through ``get(include=...)``), or a
:class:`Source` built before; :func:`as_source` turns each into a :class:`Source`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.vectors import WordVectors

if TYPE_CHECKING:
    from embedlab.store import Collection

__all__ = ["Source", "as_source", "unit_rows", "write_labels"]


@dataclass(frozen=True)
class Source:
    """Rows to analyse: ``keys[i]`` names ``vectors[i]``; documents and metadata when known.

    ``collection`` is the store collection the rows came from (None otherwise), so a
    result can be written back with :meth:`~embedlab.store.Collection.update`.
    """

    keys: tuple[str, ...]
    vectors: npt.NDArray[np.float32]
    documents: tuple[str | None, ...] | None = None
    metadata: tuple[Mapping[str, Any], ...] | None = None
    collection: Collection | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def unit_vectors(self) -> npt.NDArray[np.float32]:
        """Rows scaled to unit length (zero rows stay zero)."""
        return unit_rows(self.vectors)

    def texts(self) -> list[str]:
        """Each row's document, or its key where there is none (a word is its own text)."""
        if self.documents is None:
            return list(self.keys)
        return [doc if doc else key for key, doc in zip(self.keys, self.documents, strict=True)]

    def labels(self, key: str) -> list[Any]:
        """The metadata value ``key`` of every row; a row without it is an error."""
        if self.metadata is None:
            raise InvalidParameterError(
                f"labels from metadata key {key!r} need rows with metadata (a collection); "
                "these rows have none"
            )
        out = []
        for row_key, meta in zip(self.keys, self.metadata, strict=True):
            if key not in meta:
                raise InvalidParameterError(
                    f"row {row_key!r} has no metadata key {key!r}; its keys are {sorted(meta)}"
                )
            out.append(meta[key])
        return out


def as_source(
    data: Any,
    *,
    keys: Sequence[str] | None = None,
    documents: Sequence[str | None] | None = None,
    where: Mapping[str, Any] | None = None,
) -> Source:
    """Read ``data`` into a :class:`Source` (float32, checked: 2-D, finite, unique keys).

    Example:
        >>> import numpy as np
        >>> src = as_source(np.eye(3), keys=["a", "b", "c"])
        >>> src.keys, src.vectors.dtype.name
        (('a', 'b', 'c'), 'float32')
        >>> as_source(np.eye(2)).keys
        ('0', '1')
    """
    if isinstance(data, Source):
        source = data
    elif isinstance(data, WordVectors):
        source = Source(tuple(data.keys), np.asarray(data.vectors, dtype=np.float32))
    elif _is_collection(data):
        got = data.get(where=where, include=("vectors", "metadata", "documents"))
        vectors = np.asarray(got.vectors, dtype=np.float32).reshape(len(got.ids), data.dim)
        source = Source(tuple(got.ids), vectors, got.documents, got.metadata, data)
    else:
        source = _from_array(data, keys)
    if documents is not None:
        if len(documents) != len(source.keys):
            raise InvalidParameterError(
                f"documents must give one text per row: {len(source.keys)} rows, "
                f"{len(documents)} documents"
            )
        source = Source(source.keys, source.vectors, tuple(documents), source.metadata,
                        source.collection)  # fmt: skip
    return source


def unit_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit L2 norm, as a new float32 array (zero rows stay zero)."""
    out = np.array(vectors, dtype=np.float32, copy=True)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _is_collection(data: Any) -> bool:
    try:
        from embedlab.store import Collection
    except ImportError:  # pragma: no cover - the store ships with embedlab
        return False
    return isinstance(data, Collection)


def _from_array(data: Any, keys: Sequence[str] | None) -> Source:
    try:
        array = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "expected an array of vectors, a WordVectors, a Collection or a Source; "
            f"got {type(data).__name__} ({exc})"
        ) from None
    if array.ndim != 2 or array.shape[1] == 0:
        raise DimensionMismatchError(
            f"expected a 2-D array of vectors (rows x dim), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise InvalidParameterError("vectors must be finite; got NaN or infinite values")
    if keys is None:
        names = tuple(str(i) for i in range(len(array)))
    else:
        names = tuple(str(k) for k in keys)
        if len(names) != len(array):
            raise InvalidParameterError(
                f"keys must name every row: {len(array)} rows, {len(names)} keys"
            )
        if len(set(names)) != len(names):
            raise InvalidParameterError("keys must be unique; some key is repeated")
    return Source(names, array)


def write_labels(source: Source, labels: Any, key: str) -> int:
    """Store ``labels[i]`` under metadata ``key`` of row i of the source's collection.

    One :meth:`~embedlab.store.Collection.update` call: all rows change, or none.

    Example:
        >>> import numpy as np
        >>> write_labels(as_source(np.eye(2)), [0, 1], "cluster")
        Traceback (most recent call last):
        ...
        embedlab.errors.InvalidParameterError: writing labels back needs a collection ...
    """
    if source.collection is None:
        raise InvalidParameterError(
            "writing labels back needs a collection as the source; these rows came from "
            "an array or a model"
        )
    values = [v.item() if isinstance(v, np.generic) else v for v in labels]
    if len(values) != len(source.keys):
        raise InvalidParameterError(
            f"one label per row: {len(source.keys)} rows, {len(values)} labels"
        )
    source.collection.update(list(source.keys), metadata=[{key: v} for v in values])
    return len(values)

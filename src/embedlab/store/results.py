"""What the store hands back: frozen results, one object per query, and collection facts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Self, overload

import numpy as np
import numpy.typing as npt

from embedlab import _html
from embedlab.store import _frames
from embedlab.store._calibrate import Calibration
from embedlab.store.metadata import Metadata

__all__ = ["CollectionInfo", "GetResult", "Match", "QueryResult", "VerifyReport"]

_NO_DISTANCES = np.zeros(0, np.float32)
_EMPTY: dict[type, dict[str, Any]] = {}


def _empty_fields(cls: type) -> dict[str, Any]:
    """A fresh dict with every field of the result class ``cls`` set to None."""
    template = _EMPTY.get(cls)
    if template is None:
        template = _EMPTY[cls] = dict.fromkeys(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    return template.copy()


class Match(NamedTuple):
    """One row of a result: its id, distance (None for ``get``) and what was included."""

    id: str
    distance: float | None
    metadata: Metadata | None
    document: str | None
    vector: npt.NDArray[Any] | None


@dataclass(frozen=True)
class GetResult:
    """Rows fetched by id or filter, in a stable order.

    Fields not asked for in ``include`` are None. Iterating yields :class:`Match` rows.
    """

    ids: tuple[str, ...]
    metadata: tuple[Metadata, ...] | None = None
    documents: tuple[str | None, ...] | None = None
    vectors: npt.NDArray[Any] | None = None

    @classmethod
    def _make(cls, **fields: Any) -> Self:
        """Build without the frozen dataclass's per-field ``object.__setattr__`` (hot path)."""
        out = cls.__new__(cls)
        values = _empty_fields(cls)
        values.update(fields)
        if values.get("distances", _NO_DISTANCES) is None:
            values["distances"] = _NO_DISTANCES
        out.__dict__.update(values)
        return out

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Match]:
        for i, key in enumerate(self.ids):
            yield self._match(i, key)

    @overload
    def __getitem__(self, i: int) -> Match: ...
    @overload
    def __getitem__(self, i: str) -> Any: ...
    def __getitem__(self, i: int | str) -> Any:
        """Row i as a :class:`Match`; a str key reads the result as Chroma's dict
        (``res["metadatas"]``, ``res["embeddings"]``)."""
        if isinstance(i, str):
            from embedlab.store._chroma_forms import chroma_dict

            return chroma_dict(self, nested=False)[i]
        return self._match(i, self.ids[i])

    def _match(self, i: int, key: str) -> Match:
        return Match(
            key,
            self._distance(i),
            None if self.metadata is None else self.metadata[i],
            None if self.documents is None else self.documents[i],
            None if self.vectors is None else self.vectors[i],
        )

    def _distance(self, i: int) -> float | None:
        return None

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table``: id, distance, document, vector, one column per metadata key."""
        return _frames.to_arrow(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` (``pip install 'embedlab[frames]'``), as :meth:`to_arrow`."""
        return _frames.to_pandas(self)

    def to_polars(self) -> Any:
        """A ``polars.DataFrame`` (``pip install 'embedlab[frames]'``), as :meth:`to_arrow`."""
        return _frames.to_polars(self)

    def _repr_html_(self) -> str:
        return _html.result_html(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists, not arrays)."""
        out: dict[str, Any] = {"ids": list(self.ids)}
        for name in ("distances", "metadata", "documents", "vectors"):
            value = getattr(self, name, None)
            if value is not None:
                out[name] = value.tolist() if isinstance(value, np.ndarray) else list(value)
        return out


@dataclass(frozen=True)
class QueryResult(GetResult):
    """The nearest rows to one query, nearest first, with their distances.

    Distances: ``1 - cosine`` (cosine), ``1 - dot`` (dot), L2 (euclidean), L1 (manhattan),
    differing bits (hamming).
    """

    distances: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))

    def _distance(self, i: int) -> float | None:
        return float(self.distances[i])


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's settings and size."""

    name: str
    dim: int
    metric: str
    index: str
    index_params: dict[str, float]
    model: str | None
    count: int
    created: float
    # Measured for the recall target (see Collection.info); None until calibrated.
    calibration: Calibration | None = None


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`Collection.verify` checked and found; ``ok`` when nothing is wrong."""

    collection: str
    rows: int
    deleted_pending: int
    index_vectors: int
    index_file: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

"""Named clusters on a picture: k-means in the original space, a name per cluster, and
where to write it in 2-D.

The clustering runs on the ORIGINAL vectors (``embedlab.analysis.cluster``: faiss k-means,
each cluster named by its most distinctive terms by class-based TF-IDF, else its most
central members), never on the 2-D projection, so a label says what the vectors group,
not what the picture suggests. A name is written at its cluster's anchor: the member
nearest the members' median position in 2-D.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError

__all__ = ["ClusterMarks", "cluster_marks"]

_NAME_TERMS = 3


@dataclass(frozen=True)
class ClusterMarks:
    """Per point its cluster code (-1: noise), per code a name and the anchor point."""

    codes: npt.NDArray[np.int32]
    names: tuple[str, ...]
    anchors: npt.NDArray[np.int64]

    def name_of(self, point: int) -> str:
        """The name of a point's cluster ("noise" for none)."""
        code = int(self.codes[point])
        return self.names[code] if code >= 0 else "noise"


def cluster_marks(
    vectors: npt.ArrayLike,
    keys: Sequence[str],
    coords: npt.ArrayLike,
    *,
    k: int,
    seed: int = 0,
    documents: Sequence[str | None] | None = None,
) -> ClusterMarks:
    """Cluster the original vectors into ``k`` named clusters and anchor each name in 2-D.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
        >>> marks = cluster_marks(x, ["red", "rose", "sea", "sky"], x, k=2)
        >>> sorted(marks.names), marks.codes.tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
        (['red · rose', 'sea · sky'], True)
    """
    from embedlab.analysis.cluster import cluster

    xy = np.asarray(coords, dtype=np.float64)
    n = len(keys)
    k = check_int("clusters", k)
    if xy.ndim != 2 or xy.shape[0] != n:
        raise InvalidParameterError(f"coords: expected {n} rows (one per key), got {xy.shape}")
    if k > n:
        raise InvalidParameterError(f"clusters={k} needs at least {k} points; got {n}")
    found = cluster(
        _source(vectors, keys), k=k, seed=seed, documents=documents, n_central=_NAME_TERMS
    )
    order = {c.label: i for i, c in enumerate(found.clusters)}  # largest cluster: code 0
    codes = np.array([order.get(int(label), -1) for label in found.labels], dtype=np.int32)
    names = tuple(_name(c.terms, c.central) for c in found.clusters)
    anchors = np.zeros(len(names), dtype=np.int64)
    for code in range(len(names)):
        members = np.flatnonzero(codes == code)
        middle = np.median(xy[members, :2], axis=0)
        anchors[code] = members[np.argmin(((xy[members, :2] - middle) ** 2).sum(axis=1))]
    return ClusterMarks(codes, names, anchors)


def _source(vectors: npt.ArrayLike, keys: Sequence[str]) -> object:
    from embedlab.analysis._source import as_source

    return as_source(np.asarray(vectors, dtype=np.float32), keys=list(keys))


def _name(terms: Sequence[tuple[str, float]], central: Sequence[str]) -> str:
    words = [term for term, _ in terms[:_NAME_TERMS]] or list(central[:_NAME_TERMS])
    return " · ".join(words) if words else "cluster"

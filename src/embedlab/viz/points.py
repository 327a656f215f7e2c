"""Points to look at: vectors with keys (and metadata), from any source of vectors.

A :class:`Points` is what every picture takes. Three sources make one:
:func:`points_from_array` (an array and its keys), :func:`points_from_vectors` (a
``WordVectors`` model, all words or a chosen few) and :func:`points_from_collection`
(a store collection with its metadata). Sources larger than ``limit`` are sampled with
a seed, and the points say so in :attr:`Points.notes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError, UnknownKeyError

if TYPE_CHECKING:
    from embedlab.store.collection import Collection
    from embedlab.vectors import WordVectors

__all__ = [
    "Points",
    "points_from_array",
    "points_from_collection",
    "points_from_vectors",
    "sample_points",
]

Metadata = Mapping[str, Any]


@dataclass(frozen=True)
class Points:
    """n vectors with their keys, optional metadata, and a stamp for caching projections.

    ``stamp`` is None, or a string that changes whenever these points could change (for
    a collection: its name, creation time, sequence number and the sample drawn);
    ``notes`` says in plain words what was done to the source (sampling, say).
    """

    keys: tuple[str, ...]
    vectors: npt.NDArray[np.float32]
    metadata: tuple[Metadata, ...] | None = None
    stamp: str | None = None
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)


def points_from_array(
    vectors: npt.ArrayLike,
    keys: Sequence[str] | None = None,
    metadata: Sequence[Metadata | None] | None = None,
) -> Points:
    """Points from a 2-D array, with keys (default "0", "1", ...) and optional metadata.

    Example:
        >>> import numpy as np
        >>> p = points_from_array(np.eye(3), ["a", "b", "c"], [{"n": 1}, {"n": 2}, None])
        >>> len(p), p.keys[0], p.metadata[2]
        (3, 'a', {})
    """
    data = np.asarray(vectors, dtype=np.float32)
    if data.ndim != 2:
        raise InvalidParameterError(f"vectors: expected a 2-D array, got shape {data.shape}")
    n = data.shape[0]
    names = tuple(str(i) for i in range(n)) if keys is None else tuple(str(k) for k in keys)
    if len(names) != n:
        raise InvalidParameterError(f"keys: expected {n} keys (one per row), got {len(names)}")
    meta = None
    if metadata is not None:
        if len(metadata) != n:
            raise InvalidParameterError(
                f"metadata: expected {n} entries (one per row), got {len(metadata)}"
            )
        meta = tuple(dict(m or {}) for m in metadata)
    return Points(names, np.ascontiguousarray(data), meta)


def points_from_vectors(
    model: WordVectors,
    words: Sequence[str] | None = None,
    *,
    limit: int | None = None,
) -> Points:
    """Points of a word-vector model: the given ``words``, or its ``limit`` most frequent.

    Unknown words raise :class:`~embedlab.errors.UnknownKeyError` naming all of them.

    Example:
        >>> import numpy as np
        >>> from embedlab import WordVectors
        >>> wv = WordVectors(["a", "b", "c"], np.eye(3, dtype="float32"))
        >>> points_from_vectors(wv, ["c", "a"]).keys
        ('c', 'a')
    """
    if words is not None:
        chosen = [w for w in dict.fromkeys(words)]
        missing = [w for w in chosen if w not in model]
        if missing:
            raise UnknownKeyError(", ".join(missing), what="word" if len(missing) == 1 else "words")
        rows = np.array([model.get_index(w) for w in chosen], dtype=np.int64)
        return Points(tuple(chosen), model.vectors[rows].astype(np.float32))
    n = len(model) if limit is None else min(check_int("limit", limit, minimum=1), len(model))
    notes: tuple[str, ...] = ()
    if n < len(model):
        notes = (f"showing the {n:,} most frequent of {len(model):,} words",)
    return Points(tuple(model.keys[:n]), model.vectors[:n].astype(np.float32), notes=notes)


def points_from_collection(
    collection: Collection,
    *,
    limit: int | None = None,
    seed: int = 0,
    where: Mapping[str, Any] | None = None,
) -> Points:
    """Points of a store collection (ids, vectors, metadata), sampled to ``limit`` rows.

    Larger collections are sampled uniformly with ``seed`` and the notes say so; the
    stamp names the collection's sequence number, so projections cached under it go
    stale exactly when the collection changes.

    Example:
        >>> import numpy as np, tempfile, embedlab
        >>> db = embedlab.Database(tempfile.mkdtemp())
        >>> col = db.create_collection("c", dim=2, metric="cosine", index="flat")
        >>> col.add(ids=["a", "b", "c"], vectors=np.eye(3)[:, :2] + 0.1)
        >>> points_from_collection(col, limit=2, seed=1).notes[0]
        'sampled 2 of 3 rows of collection c (seed 1)'
        >>> db.close()
    """
    seed = check_int("seed", seed, minimum=0)
    info = collection.info()
    sequence = collection.sequence
    ids = collection.get(where=where, include=()).ids
    total = len(ids)
    if total == 0:
        raise InvalidParameterError(f"collection {info.name!r} has no rows to show")
    notes: tuple[str, ...] = ()
    chosen = list(ids)
    if limit is not None and total > check_int("limit", limit, minimum=1):
        picked = np.sort(np.random.default_rng(seed).choice(total, size=limit, replace=False))
        chosen = [ids[i] for i in picked]
        notes = (f"sampled {limit:,} of {total:,} rows of collection {info.name} (seed {seed})",)
    rows = collection.get(chosen, include=("vectors", "metadata"))
    if rows.vectors is None or rows.metadata is None:  # pragma: no cover - include asked
        raise InvalidParameterError("collection rows came back without vectors")
    stamp = (
        f"collection={info.name};created={info.created!r};seq={sequence};"
        f"where={where!r};n={len(chosen)};limit={limit};seed={seed}"
    )
    return Points(
        rows.ids,
        np.asarray(rows.vectors, dtype=np.float32),
        tuple(dict(m or {}) for m in rows.metadata),
        stamp,
        notes,
    )


def sample_points(points: Points, limit: int, *, seed: int = 0, why: str = "") -> Points:
    """At most ``limit`` of the points, drawn uniformly with ``seed`` (order kept), with a
    note saying so; the points themselves when there are no more than ``limit``.

    Example:
        >>> import numpy as np
        >>> p = sample_points(points_from_array(np.zeros((10, 2))), 4, seed=0)
        >>> len(p), p.notes[0]
        (4, 'sampled 4 of 10 points (seed 0)')
    """
    limit = check_int("limit", limit, minimum=1)
    n = len(points)
    if n <= limit:
        return points
    picked = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
    note = f"sampled {limit:,} of {n:,} points (seed {seed}){why}"
    meta = None if points.metadata is None else tuple(points.metadata[i] for i in picked)
    stamp = None if points.stamp is None else f"{points.stamp};sample={limit}@{seed}"
    return Points(
        tuple(points.keys[i] for i in picked),
        points.vectors[picked],
        meta,
        stamp,
        (*points.notes, note),
    )

"""Aligning two vector spaces: orthogonal Procrustes from a seed dictionary.

Given pairs (source key, target key), find the rotation W (orthogonal, so distances inside
the source space are kept) minimising ``||X W - Y||`` over the pairs' unit vectors: with
``U S V^T = svd(X^T Y)``, ``W = U V^T`` (Schönemann 1966). Refinement (as in MUSE, Conneau
et al. 2018) re-learns W from the mutual nearest neighbours among the ``refine_top`` most
frequent keys of each space, ``iterations`` times, seed pairs kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.analysis._source import unit_rows
from embedlab.analysis.neighbors import knn_search
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.vectors import WordVectors

__all__ = ["Alignment", "align", "procrustes"]


def procrustes(x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The orthogonal W minimising ``||x W - y||`` (Frobenius).

    Example:
        >>> import numpy as np
        >>> r = np.array([[0.0, 1.0], [-1.0, 0.0]])
        >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> np.allclose(procrustes(x, x @ r), r)
        True
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise DimensionMismatchError(
            f"Procrustes needs two matrices of one shape; got {a.shape} and {b.shape}"
        )
    u, _, vt = np.linalg.svd(a.T @ b)
    return np.asarray(u @ vt, dtype=np.float32)


@dataclass(frozen=True)
class Alignment:
    """A rotation from the source space into the target space, and the pairs it used."""

    source: WordVectors
    target: WordVectors
    rotation: npt.NDArray[np.float32]
    pairs: tuple[tuple[str, str], ...]

    def mapped(self) -> WordVectors:
        """The source's vectors (unit rows) rotated into the target space."""
        return WordVectors(self.source.keys, self.source.unit_vectors @ self.rotation,
                           counts=self.source.counts)  # fmt: skip

    def translate(self, keys: Sequence[str], k: int = 1) -> list[list[str]]:
        """The k nearest target keys of each source key (cosine), after rotation."""
        rows = [self.source.get_index(key) for key in keys]
        queries = self.source.unit_vectors[rows] @ self.rotation
        _, idx = knn_search(self.target.vectors, queries, k)
        return [[self.target.keys[j] for j in row] for row in idx.tolist()]

    def precision_at_1(self, pairs: Iterable[tuple[str, str]]) -> float:
        """Share of test pairs whose source key translates to its target key first.

        A source key with several targets counts as right if any of them comes first;
        pairs with a key missing from either space are skipped.
        """
        return self.precision_at(pairs, 1)

    def precision_at(self, pairs: Iterable[tuple[str, str]], k: int = 1) -> float:
        """Share of source keys with one of their targets among their k nearest translations.

        Counted per source key (a key with several targets is one question), as
        :meth:`precision_at_1`; pairs with a key missing from either space are skipped.

        Example:
            >>> import numpy as np
            >>> wv = WordVectors(["a", "b", "c"], np.array([[1, 0], [0.8, 0.6], [0, 1]]))
            >>> same = Alignment(wv, wv, np.eye(2, dtype=np.float32), ())
            >>> same.precision_at([("a", "b")], 1), same.precision_at([("a", "b")], 2)
            (0.0, 1.0)
        """
        k = check_int("k", k)
        gold: dict[str, set[str]] = {}
        for s, t in pairs:
            if s in self.source and t in self.target:
                gold.setdefault(s, set()).add(t)
        if not gold:
            raise InvalidParameterError("no test pair has both keys in the two spaces")
        keys = list(gold)
        found = self.translate(keys, min(k, len(self.target)))
        hits = sum(not gold[key].isdisjoint(f) for key, f in zip(keys, found, strict=True))
        return hits / len(keys)


def align(
    source: WordVectors,
    target: WordVectors,
    pairs: Iterable[tuple[str, str]] | None = None,
    *,
    iterations: int = 0,
    refine_top: int = 10_000,
) -> Alignment:
    """Rotate ``source`` onto ``target`` from seed pairs (default: the keys they share).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(50, 4))
        >>> r, _ = np.linalg.qr(rng.normal(size=(4, 4)))
        >>> keys = [f"w{i}" for i in range(50)]
        >>> a = align(WordVectors(keys, x), WordVectors(keys, x @ r), [(k, k) for k in keys[:10]])
        >>> a.precision_at_1([(k, k) for k in keys[10:]])
        1.0
    """
    if source.dim != target.dim:
        raise DimensionMismatchError(
            f"the two spaces must have one dimension; got {source.dim} and {target.dim}"
        )
    iterations = check_int("iterations", iterations, minimum=0)
    refine_top = check_int("refine_top", refine_top)
    if pairs is None:
        seed = [(k, k) for k in source.keys if k in target]
    else:
        seed = [(str(s), str(t)) for s, t in pairs if s in source and t in target]
    if len(seed) < 2:
        raise InvalidParameterError(
            f"aligning needs at least 2 seed pairs with both keys present; got {len(seed)}"
        )
    used = list(seed)
    rotation = _fit(source, target, used)
    for _ in range(iterations):
        used = list(dict.fromkeys(seed + _mutual_pairs(source, target, rotation, refine_top)))
        rotation = _fit(source, target, used)
    return Alignment(source, target, rotation, tuple(used))


def _fit(
    source: WordVectors, target: WordVectors, pairs: list[tuple[str, str]]
) -> npt.NDArray[np.float32]:
    x = source.unit_vectors[[source.get_index(s) for s, _ in pairs]]
    y = target.unit_vectors[[target.get_index(t) for _, t in pairs]]
    return procrustes(x, y)


def _mutual_pairs(
    source: WordVectors, target: WordVectors, rotation: npt.NDArray[np.float32], top: int
) -> list[tuple[str, str]]:
    """Mutual nearest neighbours among the first ``top`` keys of each space."""
    xs = unit_rows(source.unit_vectors[: min(top, len(source))] @ rotation)
    yt = target.unit_vectors[: min(top, len(target))]
    _, fwd = knn_search(yt, xs, 1)
    _, back = knn_search(xs, yt, 1)
    return [(source.keys[i], target.keys[int(j)]) for i, j in enumerate(fwd[:, 0].tolist())
            if int(back[j, 0]) == i]  # fmt: skip

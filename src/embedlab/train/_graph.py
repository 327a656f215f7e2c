"""Graphs for node embeddings: an edge list read into compressed sparse rows (CSR).

Nodes are string keys numbered in order of first appearance. Each node's neighbours are
sorted by id (so "is x a neighbour of t" is a binary search) with their weights and, for
weighted sampling, the running sum of the weights within the row.

Stated adjustments, counted on the :class:`Graph` and warned about: self-loops are
dropped (a walk that stays put teaches nothing), and an edge listed more than once (in an
undirected graph, ``a b`` and ``b a`` too) is kept once with its largest weight.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlab.errors import FormatError, InvalidParameterError, MissingFileError

__all__ = ["Graph", "read_edge_list"]


@dataclass(frozen=True)
class Graph:
    """A graph in CSR form: row ``i`` holds node ``keys[i]``'s neighbours.

    ``indices[indptr[i]:indptr[i + 1]]`` are i's neighbours (sorted), ``weights`` the
    edge weights beside them, ``cumulative`` their running sums within each row.
    ``edges`` counts undirected edges once (directed: each arc once).

    Example:
        >>> g = Graph.from_edges([("a", "b"), ("b", "c")])
        >>> g.keys, g.nodes, g.edges, g.degree.tolist()
        (['a', 'b', 'c'], 3, 2, [1, 2, 1])
    """

    keys: list[str]
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    cumulative: np.ndarray
    directed: bool
    weighted: bool
    self_loops_dropped: int = 0
    duplicates_merged: int = 0

    @property
    def nodes(self) -> int:
        """Number of nodes."""
        return len(self.keys)

    @property
    def edges(self) -> int:
        """Number of edges (an undirected edge once)."""
        arcs = int(self.indptr[-1])
        return arcs if self.directed else arcs // 2

    @property
    def degree(self) -> np.ndarray:
        """Out-degree of each node (int64)."""
        return np.diff(self.indptr)

    def edge_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sources, targets, weights) of every edge, an undirected one once (source < target)."""
        sources = np.repeat(np.arange(self.nodes, dtype=np.int64), self.degree)
        targets = self.indices.astype(np.int64)
        keep = slice(None) if self.directed else sources < targets
        return sources[keep], targets[keep], self.weights[keep]

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[str, str] | tuple[str, str, float]],
        *,
        directed: bool = False,
        keys: Sequence[str] = (),
    ) -> Graph:
        """Build a graph from (source, target) or (source, target, weight) tuples.

        ``keys`` names nodes first (in that order), so a graph can keep nodes that have
        lost their edges. Weights must be finite and positive.

        Example:
            >>> Graph.from_edges([("a", "b", 2.0), ("a", "a")]).self_loops_dropped
            1
        """
        index: dict[str, int] = {}
        for key in keys:
            index.setdefault(str(key), len(index))
        src: list[int] = []
        dst: list[int] = []
        wts: list[float] = []
        for n, edge in enumerate(edges):
            if not isinstance(edge, tuple | list) or len(edge) not in (2, 3):
                raise InvalidParameterError(
                    f"edge {n} must be (source, target) or (source, target, weight); got {edge!r}"
                )
            weight = _check_weight(edge[2] if len(edge) == 3 else 1.0, where=f"edge {n}")
            src.append(index.setdefault(str(edge[0]), len(index)))
            dst.append(index.setdefault(str(edge[1]), len(index)))
            wts.append(weight)
        return cls._build(list(index), src, dst, wts, directed=directed)

    @classmethod
    def _build(
        cls,
        keys: list[str],
        src: Sequence[int] | np.ndarray,
        dst: Sequence[int] | np.ndarray,
        wts: Sequence[float] | np.ndarray,
        *,
        directed: bool,
    ) -> Graph:
        n = len(keys)
        s = np.asarray(src, dtype=np.int64)
        d = np.asarray(dst, dtype=np.int64)
        w = np.asarray(wts, dtype=np.float64)
        loops = s == d
        self_loops = int(loops.sum())
        s, d, w = s[~loops], d[~loops], w[~loops]
        if not directed:
            s, d = np.concatenate([s, d]), np.concatenate([d, s])
            w = np.concatenate([w, w])
        # Sort by (source, target, -weight); keep the first of each (source, target).
        order = np.lexsort((-w, d, s))
        s, d, w = s[order], d[order], w[order]
        first = np.ones(len(s), dtype=bool)
        first[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
        duplicates = int((~first).sum())
        if not directed:
            duplicates //= 2
        s, d, w = s[first], d[first], w[first]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(s, minlength=n), out=indptr[1:])
        cumulative = np.cumsum(w)
        cumulative -= np.repeat(np.concatenate([[0.0], cumulative])[indptr[:-1]], np.diff(indptr))
        if self_loops or duplicates:
            warnings.warn(
                f"graph: dropped {self_loops:,} self-loop(s) and merged {duplicates:,} "
                "repeated edge(s) (keeping the largest weight)",
                UserWarning,
                stacklevel=3,
            )
        return cls(
            keys=keys,
            indptr=indptr,
            indices=d.astype(np.int32),
            weights=w.astype(np.float32),
            cumulative=cumulative,
            directed=directed,
            weighted=bool(len(w) and (w != 1.0).any()),
            self_loops_dropped=self_loops,
            duplicates_merged=duplicates,
        )


def read_edge_list(path: str | os.PathLike[str], *, directed: bool = False) -> Graph:
    """Read an edge list: ``source target [weight]`` a line (tabs, else any whitespace).

    Blank lines and lines starting with ``#`` are skipped; a line without a weight has
    weight 1. A line with one or more than three fields, or a weight that is not a
    finite positive number, raises :class:`~embedlab.errors.FormatError` naming the file
    and line.

    Example:
        >>> graph = read_edge_list("edges.tsv")  # doctest: +SKIP
    """
    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"edge list not found: {file}")
    index: dict[str, int] = {}
    src: list[int] = []
    dst: list[int] = []
    wts: list[float] = []
    with open(file, encoding="utf-8", errors="replace") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = [x.strip() for x in line.split("\t")] if "\t" in line else line.split()
            if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
                raise FormatError(
                    f"expected 'source target [weight]' (2 or 3 fields), got {len(fields)} "
                    f"field(s): {line[:80]!r}",
                    path=str(file),
                    line=number,
                )
            weight = 1.0
            if len(fields) == 3:
                try:
                    weight = float(fields[2])
                except ValueError:
                    raise FormatError(
                        f"the weight must be a number; got {fields[2][:40]!r}",
                        path=str(file),
                        line=number,
                    ) from None
                if not (math.isfinite(weight) and weight > 0):
                    raise FormatError(
                        f"the weight must be a finite positive number; got {fields[2]!r}",
                        path=str(file),
                        line=number,
                    )
            src.append(index.setdefault(fields[0], len(index)))
            dst.append(index.setdefault(fields[1], len(index)))
            wts.append(weight)
    if not src:
        raise FormatError("the edge list holds no edges", path=str(file))
    return Graph._build(list(index), src, dst, wts, directed=directed)


def _check_weight(value: object, *, where: str) -> float:
    try:
        weight = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{where}: the weight must be a number; got {value!r}"
        ) from None
    if not (math.isfinite(weight) and weight > 0):
        raise InvalidParameterError(
            f"{where}: the weight must be a finite positive number; got {value!r}"
        )
    return weight

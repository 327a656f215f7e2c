"""Link prediction: hold out edges of a graph, train on the rest, score the held-out ones.

:func:`split_edges` holds out a fraction of the edges (never one that a spanning forest
needs, so every node keeps an edge and a vector) and draws as many node pairs that are
not edges as negatives; :func:`link_prediction_auc` scores each pair by the cosine of
its nodes' vectors and returns the ROC AUC (0.5: chance, 1: every edge above every
non-edge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embedlab._validation import check_float, check_int
from embedlab.errors import InvalidParameterError, UnknownKeyError
from embedlab.train._graph import Graph
from embedlab.vectors import WordVectors

__all__ = ["LinkSplit", "link_prediction_auc", "roc_auc", "split_edges"]

Pair = tuple[str, str]


@dataclass(frozen=True)
class LinkSplit:
    """The graph to train on, and the held-out edges and non-edges to score."""

    train: Graph
    positives: list[Pair]
    negatives: list[Pair]


def split_edges(graph: Graph, *, test_fraction: float = 0.1, seed: int = 0) -> LinkSplit:
    """Hold out about test_fraction of the edges (as many non-edges as negatives).

    Only edges outside a random spanning forest are held out, so the training graph has
    the same nodes, connected the same way; when too few such edges exist, fewer are
    held out (``len(split.positives)`` says how many).

    Example:
        >>> ring = Graph.from_edges([(str(i), str((i + 1) % 30)) for i in range(30)]
        ...                         + [(str(i), str((i + 7) % 30)) for i in range(30)])
        >>> split = split_edges(ring, test_fraction=0.2)
        >>> len(split.positives), len(split.negatives), split.train.edges
        (12, 12, 48)
    """
    fraction = check_float("test_fraction", test_fraction, inclusive_min=False, maximum=0.9)
    check_int("seed", seed, minimum=0)
    src, dst, wts = graph.edge_pairs()
    n_edges = len(src)
    if n_edges < 2:
        raise InvalidParameterError(f"link prediction needs at least 2 edges; got {n_edges}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_edges)
    parent = list(range(graph.nodes))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    spare: list[int] = []
    for e in order.tolist():
        a, b = root(int(src[e])), root(int(dst[e]))
        if a != b:
            parent[a] = b
        else:
            spare.append(e)
    n_test = min(round(fraction * n_edges), len(spare))
    held = np.zeros(n_edges, dtype=bool)
    held[spare[:n_test]] = True
    keys = graph.keys
    positives = [(keys[int(s)], keys[int(d)]) for s, d in zip(src[held], dst[held], strict=True)]
    existing = set(zip(src.tolist(), dst.tolist(), strict=True))
    if not graph.directed:
        existing |= {(d, s) for s, d in existing}
    max_pairs = graph.nodes * (graph.nodes - 1)
    if len(existing) + n_test > max_pairs:
        raise InvalidParameterError(
            f"the graph is too dense to draw {n_test} non-edges ({graph.nodes} nodes)"
        )
    negatives: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    while len(negatives) < n_test:
        a, b = (int(x) for x in rng.integers(0, graph.nodes, size=2))
        if a == b or (a, b) in existing or (a, b) in seen:
            continue
        seen.add((a, b))
        if not graph.directed:
            seen.add((b, a))
        negatives.append((keys[a], keys[b]))
    keep = ~held
    train = Graph._build(
        list(keys), src[keep], dst[keep], wts[keep].astype(np.float64), directed=graph.directed
    )
    return LinkSplit(train=train, positives=positives, negatives=negatives)


def link_prediction_auc(
    vectors: WordVectors, positives: Sequence[Pair], negatives: Sequence[Pair]
) -> float:
    """ROC AUC of cosine similarity separating edges (positives) from non-edges.

    A node without a vector raises :class:`~embedlab.errors.UnknownKeyError` naming it.

    Example:
        >>> auc = link_prediction_auc(wv, split.positives, split.negatives)  # doctest: +SKIP
    """
    if not positives or not negatives:
        raise InvalidParameterError(
            f"need positive and negative pairs; got {len(positives)} and {len(negatives)}"
        )
    index = vectors.key_to_index
    unit = vectors.unit_vectors

    def scores(pairs: Sequence[Pair]) -> np.ndarray:
        rows = np.empty((len(pairs), 2), dtype=np.int64)
        for i, (a, b) in enumerate(pairs):
            for j, key in enumerate((a, b)):
                row = index.get(key)
                if row is None:
                    raise UnknownKeyError(key, what="node")
                rows[i, j] = row
        result: np.ndarray = np.einsum("ij,ij->i", unit[rows[:, 0]], unit[rows[:, 1]])
        return result

    return roc_auc(scores(positives), scores(negatives))


def roc_auc(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties: 1/2).

    Example:
        >>> roc_auc(np.array([0.9, 0.4]), np.array([0.5, 0.1]))
        0.75
    """
    pos = np.asarray(positive_scores, dtype=np.float64)
    neg = np.asarray(negative_scores, dtype=np.float64)
    both = np.concatenate([pos, neg])
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct value
    ranks = mean_rank[inverse]
    n_pos, n_neg = len(pos), len(neg)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))

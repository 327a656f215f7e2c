"""The query planner: exact scan or ANN index, chosen by counting the candidates first.

- No filter and no deleted rows: the ANN index answers directly.
- A filter (or deleted rows): the allowed positions are counted. Few candidates
  (``exact_threshold`` or fewer, or under 5% of the rows) are scanned exactly, which is both
  faster and exact; many go to the index with a bitmap ID selector and a search widened
  for the selectivity.
- An index that is not trained yet (IVF kinds) is replaced by the exact scan.
- Indexes with compressed scores (IVF-PQ) fetch ``refine`` x k candidates that are then
  re-ranked with exact distances.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab import metrics
from embedlab.metrics import Metric
from embedlab.store._state import CollectionState
from embedlab.store.index._faiss import subset_knn

__all__ = ["DEFAULT_EXACT_THRESHOLD", "Hits", "ann", "exact", "search"]

DEFAULT_EXACT_THRESHOLD = 8192
# Below this share of allowed rows a graph search loses recall even widened: scan exactly.
MIN_ANN_SELECTIVITY = 0.05
_QUERY_BLOCK = 64  # queries per block of the exact scan: (64 x candidates) distances at a time

_F32 = np.dtype(np.float32)

Hits = tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]


def search(
    state: CollectionState,
    queries: npt.NDArray[Any],
    k: int,
    *,
    allowed: npt.NDArray[np.bool_] | None = None,
    overrides: Mapping[str, int] | None = None,
    exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
    max_distance: float | None = None,
) -> list[Hits]:
    """The k nearest live positions (and their distances) for each prepared query row.

    Positions the indexer has not reached yet (``state.indexed`` and up) are always
    scanned exactly and merged in, so a row is found as soon as its write returns (the
    scan's time is credited to the indexer, see ``_indexer``). A
    calibrated breadth (see ``_calibrate``) applies unless ``overrides`` sets one; it was
    measured unfiltered, so a filtered search widens the larger of it and the kind's own
    value.
    """
    state.last_query = time.monotonic()
    try:
        return _search(state, queries, k, allowed, overrides, exact_threshold, max_distance)
    finally:
        state.last_query = time.monotonic()  # a long query is no pause either


def _search(
    state: CollectionState,
    queries: npt.NDArray[Any],
    k: int,
    allowed: npt.NDArray[np.bool_] | None,
    overrides: Mapping[str, int] | None,
    exact_threshold: int,
    max_distance: float | None,
) -> list[Hits]:
    calibration = state.calibration
    filtered_overrides = overrides
    if calibration is not None and (overrides is None or calibration.param not in overrides):
        value = calibration.breadth(k, state.indexed)
        overrides = {**(overrides or {}), calibration.param: value}
        own = state.spec.params[calibration.param]
        filtered_overrides = {**overrides, calibration.param: max(value, own)}
    with state.index_lock:
        covered = state.indexed if state.index.ready else 0
        n = state.n
        if allowed is None and state.dead == 0:
            if covered == 0:
                return _within(exact(state, queries, k, None), max_distance)
            hits = ann(state, queries, k, None, 1.0, overrides, covered)
            if covered == n:  # the common case: the index holds every row
                return hits if max_distance is None else _within(hits, max_distance)
            tail: npt.NDArray[np.int64] | None = np.arange(covered, n, dtype=np.int64)
        else:
            mask = state.alive if allowed is None else allowed & state.alive
            count = int(np.count_nonzero(mask))
            if count == 0:
                empty = (np.zeros(0, np.float32), np.zeros(0, np.int64))
                return [empty for _ in range(len(queries))]
            big = count > exact_threshold and count >= MIN_ANN_SELECTIVITY * n
            if covered == 0 or not big:
                return _within(exact(state, queries, k, np.flatnonzero(mask)), max_distance)
            bitmap = (
                state.alive_bitmap() if allowed is None else np.packbits(mask, bitorder="little")
            )
            in_index = int(np.count_nonzero(mask[:covered]))
            share = in_index / covered
            chosen = overrides if share >= 1.0 else filtered_overrides
            hits = ann(state, queries, k, bitmap, share, chosen, covered)
            tail = np.flatnonzero(mask[covered:]) + covered if covered < n else None
        if tail is not None and len(tail):
            began = time.perf_counter()
            hits = [
                _merge(a, b, k) for a, b in zip(hits, exact(state, queries, k, tail), strict=True)
            ]
            state.scan_credit += time.perf_counter() - began
    return _within(hits, max_distance)


def _merge(a: Hits, b: Hits, k: int) -> Hits:
    """The k nearest of two nearest-first hit lists."""
    distances = np.concatenate((a[0], b[0]))
    positions = np.concatenate((a[1], b[1]))
    order = np.argsort(distances, kind="stable")[:k]
    return distances[order], positions[order]


def ann(
    state: CollectionState,
    queries: npt.NDArray[Any],
    k: int,
    bitmap: npt.NDArray[np.uint8] | None,
    selectivity: float,
    overrides: Mapping[str, int] | None,
    covered: int,
) -> list[Hits]:
    """ANN search of the indexed positions [0, covered); exact re-rank where needed."""
    factor = state.index.rerank_factor(overrides)
    fetch = max(1, min(k * factor, covered))
    scores, positions = state.index.search(
        queries, fetch, allowed=bitmap, selectivity=selectivity, overrides=overrides
    )
    out: list[Hits] = []
    if factor > 1 or not state.index.exact_scores:
        for q, row in zip(queries, positions, strict=True):
            found = row[row >= 0]
            out.extend(exact(state, q[None, :], k, found))
        return out
    distances = to_distances(state.spec.metric, scores)
    if len(positions) == 1 and positions[0, -1] >= 0:  # one query, k found: no copies
        return [(distances[0], positions[0])]
    for i in range(len(positions)):
        d_row, p_row = distances[i], positions[i]
        if p_row[-1] < 0:  # faiss pads missing results with -1 at the end
            keep = p_row >= 0
            d_row, p_row = d_row[keep], p_row[keep]
        out.append((d_row, p_row))
    return out


def exact(
    state: CollectionState,
    queries: npt.NDArray[Any],
    k: int,
    candidates: npt.NDArray[np.int64] | None,
) -> list[Hits]:
    """Exact k nearest among ``candidates`` (all positions when None), nearest first."""
    if candidates is None:
        candidates = np.arange(state.n, dtype=np.int64)
    if len(candidates) == 0:
        empty = (np.zeros(0, np.float32), np.zeros(0, np.int64))
        return [empty for _ in range(len(queries))]
    take = min(k, len(candidates))
    metric = state.spec.metric
    if metric in (Metric.COSINE, Metric.DOT, Metric.EUCLIDEAN):
        inner = metric is not Metric.EUCLIDEAN
        out: list[Hits] = []
        for query in queries:
            scores, positions = subset_knn(
                state.matrix, query, candidates, take, inner_product=inner
            )
            out.append((to_distances(metric, scores), positions))
        return out
    vectors = state.matrix[candidates]
    out = []
    for start in range(0, len(queries), _QUERY_BLOCK):
        block = distance_matrix(metric, queries[start : start + _QUERY_BLOCK], vectors)
        for row in block:
            best = np.argpartition(row, take - 1)[:take] if take < len(row) else np.arange(len(row))
            best = best[np.lexsort((best, row[best]))]
            out.append((row[best].astype(np.float32), candidates[best].astype(np.int64)))
    return out


def distance_matrix(
    metric: Metric, queries: npt.NDArray[Any], vectors: npt.NDArray[Any]
) -> npt.NDArray[np.float32]:
    """Distances (queries x vectors) between prepared queries and prepared vectors."""
    if metric in (Metric.COSINE, Metric.DOT):
        similarity: npt.NDArray[np.float32] = queries @ vectors.T
        return (1.0 - similarity).astype(np.float32)
    if metric is Metric.EUCLIDEAN:
        return metrics.euclidean(queries, vectors).reshape(len(queries), len(vectors))
    if metric is Metric.MANHATTAN:
        return metrics.manhattan(queries, vectors).reshape(len(queries), len(vectors))
    counts = metrics.hamming(queries, vectors).reshape(len(queries), len(vectors))
    return counts.astype(np.float32)


def to_distances(metric: Metric, scores: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """faiss scores to the store's distances: 1 - similarity, true L2, L1 or bit counts."""
    out: npt.NDArray[np.float32]
    if metric is Metric.COSINE or metric is Metric.DOT:
        similarity: npt.NDArray[Any] = 1.0 - scores  # float32 stays float32, and faster
        out = similarity if similarity.dtype is _F32 else similarity.astype(np.float32)
    elif metric is Metric.EUCLIDEAN:
        out = np.sqrt(np.maximum(scores, 0.0)).astype(np.float32)
    else:
        out = scores.astype(np.float32)
    return out


def _within(hits: list[Hits], max_distance: float | None) -> list[Hits]:
    if max_distance is None:
        return hits
    out: list[Hits] = []
    for distances, positions in hits:
        keep = distances <= max_distance
        out.append((distances[keep], positions[keep]))
    return out

"""Random walks on a CSR graph, compiled (numba, nogil): DeepWalk and node2vec.

A walk is written as node ids followed by ``-1``, the same layout as a corpus chunk, so
the walks of a job go straight into the SGNS kernel with no strings in between.

node2vec's second-order step (Grover and Leskovec 2016) from ``v``, having come from
``t``, moves to neighbour ``x`` with probability proportional to ``alpha(t, x) * w(v, x)``
where ``alpha`` is ``1/p`` if ``x == t``, ``1`` if ``x`` is a neighbour of ``t``, and
``1/q`` otherwise. It is drawn by rejection (as KnightKing does): propose ``x`` by
weight, accept with probability ``alpha(t, x) / max(1/p, 1, 1/q)``; no per-edge tables,
so memory stays at the graph's own size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["random_walks"]

_LCG_MUL = np.uint64(6364136223846793005)
_LCG_ADD = np.uint64(1442695040888963407)


@njit(cache=True, nogil=True, inline="always")
def _next(state: np.uint64) -> np.uint64:
    return state * _LCG_MUL + _LCG_ADD


@njit(cache=True, nogil=True, inline="always")
def _unit(state: np.uint64) -> float:
    """A uniform float in [0, 1) from the state's top 53 bits."""
    return float(state >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True, inline="always")
def _is_neighbour(indptr: np.ndarray, indices: np.ndarray, t: Any, x: Any) -> bool:
    lo = indptr[t]
    hi = indptr[t + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return bool(lo < indptr[t + 1] and indices[lo] == x)


@njit(cache=True, nogil=True)
def random_walks(
    indptr: np.ndarray,
    indices: np.ndarray,
    cumulative: np.ndarray,
    weighted: bool,
    starts: np.ndarray,
    walk_length: int,
    p: float,
    q: float,
    seed: np.uint64,
) -> np.ndarray:
    """One walk of up to walk_length nodes from each start, each ended by -1, in one array.

    A walk stops early at a node without (out-)neighbours. With p == q == 1 every step is
    first order (DeepWalk, weighted when the graph is).
    """
    out = np.empty(starts.shape[0] * (walk_length + 1), dtype=np.int32)
    state = seed
    inv_p = 1.0 / p
    inv_q = 1.0 / q
    top = max(inv_p, 1.0, inv_q)
    second_order = p != 1.0 or q != 1.0
    pos = 0
    for s in range(starts.shape[0]):
        cur = np.int64(starts[s])
        prev = np.int64(-1)
        out[pos] = cur
        pos += 1
        for _ in range(1, walk_length):
            lo = indptr[cur]
            hi = indptr[cur + 1]
            if lo == hi:
                break
            while True:
                state = _next(state)
                if weighted:
                    target = _unit(state) * cumulative[hi - 1]
                    a = lo
                    b = hi - 1
                    while a < b:
                        mid = (a + b) >> 1
                        if cumulative[mid] <= target:
                            a = mid + 1
                        else:
                            b = mid
                    x = np.int64(indices[a])
                else:
                    x = np.int64(
                        indices[lo + np.int64((state >> np.uint64(33)) % np.uint64(hi - lo))]
                    )
                if not second_order or prev < 0:
                    break
                if x == prev:
                    accept = inv_p
                elif _is_neighbour(indptr, indices, prev, x):
                    accept = 1.0
                else:
                    accept = inv_q
                state = _next(state)
                if _unit(state) * top < accept:
                    break
            out[pos] = x
            pos += 1
            prev = cur
            cur = x
        out[pos] = -1
        pos += 1
    return out[:pos]

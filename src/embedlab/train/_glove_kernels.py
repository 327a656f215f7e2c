"""Compiled GloVe kernels: AdaGrad on weighted least squares (numba, nogil, float32).

One parameter matrix holds every trainable number, a row per word (rows ``0..V-1``) and
per context word (rows ``V..2V-1``)::

    [ w (dim) | bias | pad ... | gradsq of w (dim) | gradsq of bias | pad ... ]

so a pair's update touches two contiguous rows (vector, bias and AdaGrad state side by
side) instead of four scattered arrays. ``stride`` is dim + 1 rounded up to 16 floats
(64 bytes), and each half starts on a cache-line boundary of the row.

Pairs are stored sorted by (word, context) in blocks of ``BLOCK`` records. An epoch
visits the blocks in a random order and each block's records in a random order: a
block shuffle, cheap to draw and kind to caches (a block shares its few word rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

BLOCK = 256
_LCG_MUL = np.uint64(6364136223846793005)
_LCG_ADD = np.uint64(1442695040888963407)


def row_stride(dim: int) -> int:
    """Floats per half row: dim + 1 (the bias) rounded up to a multiple of 16."""
    return (dim + 1 + 15) // 16 * 16


def initial_params(vocab_size: int, dim: int, seed: int) -> np.ndarray:
    """Vectors and biases uniform in [-0.5, 0.5) / dim, AdaGrad sums at 1 (as Stanford does)."""
    stride = row_stride(dim)
    rng = np.random.default_rng(seed)
    params = np.zeros((2 * vocab_size, 2 * stride), dtype=np.float32)
    start = rng.random((2 * vocab_size, dim + 1), dtype=np.float32) - np.float32(0.5)
    params[:, : dim + 1] = start / np.float32(dim)
    params[:, stride : stride + dim + 1] = 1.0
    return params


@njit(cache=True, nogil=True)
def pair_weights(values: np.ndarray, x_max: float, alpha: float, log_out: np.ndarray) -> None:
    """Write log(x) to log_out; turn x into f(x) = min(1, (x/x_max)^alpha) in place."""
    xm = np.float64(x_max)
    for t in range(values.shape[0]):
        x = np.float64(values[t])
        log_out[t] = np.log(x)
        values[t] = 1.0 if x >= xm else (x / xm) ** alpha


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def train_blocks(
    rows: np.ndarray,
    cols: np.ndarray,
    log_x: np.ndarray,
    weight: np.ndarray,
    blocks: np.ndarray,
    params: np.ndarray,
    dim: int,
    vocab_size: int,
    eta: float,
    seed: np.uint64,
) -> float:
    """One AdaGrad step per pair of the given blocks; return the sum of 0.5 f(x) err^2."""
    n = rows.shape[0]
    stride = params.shape[1] // 2
    lr = np.float32(eta)
    order = np.empty(BLOCK, dtype=np.int64)
    up1 = np.empty(dim, dtype=np.float32)
    up2 = np.empty(dim, dtype=np.float32)
    state = seed
    cost = 0.0
    for bi in range(blocks.shape[0]):
        start = blocks[bi] * BLOCK
        m = min(n - start, BLOCK)
        for k in range(m):
            order[k] = start + k
        for k in range(m - 1, 0, -1):  # Fisher-Yates within the block
            state = state * _LCG_MUL + _LCG_ADD
            r = np.int64((state >> np.uint64(33)) % np.uint64(k + 1))
            order[k], order[r] = order[r], order[k]
        for k in range(m):
            t = order[k]
            a = params[rows[t]]
            b = params[vocab_size + cols[t]]
            diff = np.float32(0.0)
            for d in range(dim):
                diff += a[d] * b[d]
            diff += a[dim] + b[dim] - log_x[t]
            fdiff = weight[t] * diff
            cost += 0.5 * fdiff * diff
            fdiff *= lr
            for d in range(dim):  # gradients first (reads only), then both rows' updates
                up1[d] = fdiff * b[d]
                up2[d] = fdiff * a[d]
            _adagrad(a[:dim], a[stride : stride + dim], up1)
            _adagrad(b[:dim], b[stride : stride + dim], up2)
            a[dim] -= fdiff / np.sqrt(a[stride + dim])
            b[dim] -= fdiff / np.sqrt(b[stride + dim])
            a[stride + dim] += fdiff * fdiff
            b[stride + dim] += fdiff * fdiff
    return cost


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _adagrad(w: np.ndarray, gradsq: np.ndarray, grad: np.ndarray) -> Any:
    # error_model="numpy" drops the zero-division check that keeps LLVM from vectorising
    for d in range(w.shape[0]):
        g = grad[d]
        w[d] -= g / np.sqrt(gradsq[d])
        gradsq[d] += g * g


@njit(cache=True, nogil=True)
def cost_of(
    rows: np.ndarray,
    cols: np.ndarray,
    log_x: np.ndarray,
    weight: np.ndarray,
    params: np.ndarray,
    dim: int,
    vocab_size: int,
) -> float:
    """Mean of 0.5 f(x) err^2 over every pair, without training (for tests and reports)."""
    total = 0.0
    for t in range(rows.shape[0]):
        a = params[rows[t]]
        b = params[vocab_size + cols[t]]
        diff = 0.0
        for d in range(dim):
            diff += a[d] * b[d]
        diff += a[dim] + b[dim] - log_x[t]
        total += 0.5 * weight[t] * diff * diff
    return float(total / max(rows.shape[0], 1))

"""GloVe's co-occurrence counts, in bounded memory.

Each vocabulary word adds ``1/distance`` to ``X[a, b]`` and ``X[b, a]`` for every word
``b`` at most ``window`` places before it on the same line (pruned words are removed
first, and no window crosses a line end).

Memory is split between two stores, both sized from the budget:

* a dense table for the pairs of frequent words, those with ``(a+1)(b+1) <= P`` (a
  hyperbolic region, as Stanford's cooccur uses): most increments land here;
* a buffer of ``(key, value)`` records for the rest. When it is full it is radix-sorted,
  duplicates are summed, and the sorted run is appended to a spill file on disk.

At the end the dense table and the sorted runs (memory-mapped, never read into memory
whole) are merged row by row (a heap over the runs) into three arrays (rows, cols, values)
sorted by ``(row, col)``, memory-mapped from the work folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from embedlab._progress import CooccurrenceProgress
from embedlab.errors import InvalidParameterError
from embedlab.text.encode import CorpusScan

RECORD_BYTES = 24
"""A buffered record: int64 key + float32 value, and as much again of sort scratch."""
DENSE_BYTES = 8
"""A dense-table cell: float64."""
DENSE_SHARE = 0.5
"""Share of the budget the dense table may take."""


@dataclass(frozen=True)
class Cooccurrences:
    """Unique co-occurring pairs sorted by (row, col), with their weighted counts."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    spills: int
    dense_entries: int
    buffer_records: int
    seconds: float

    def __len__(self) -> int:
        return int(self.rows.shape[0])


def minimum_memory_bytes(window: int) -> int:
    """The least budget that can count: one word's window of records in the buffer."""
    return 2 * window * RECORD_BYTES


def check_memory(memory_gb: float, window: int) -> None:
    """Raise if a budget of memory_gb GiB cannot hold even one window's records."""
    need = minimum_memory_bytes(window)
    memory_bytes = int(memory_gb * 2**30)
    if memory_bytes < need:
        raise InvalidParameterError(
            f"the memory budget memory_gb={memory_gb:g} ({memory_bytes:,} bytes) is "
            f"too small to count co-occurrences: one word's window of {window} needs "
            f"{2 * window} records of {RECORD_BYTES} bytes ({need:,} bytes); raise memory_gb"
        )


def dense_lengths(vocab_size: int, max_entries: int) -> np.ndarray:
    """Per row a, how many columns are dense: min(V, P // (a+1)) for the largest P that fits."""
    rank = np.arange(1, vocab_size + 1, dtype=np.int64)

    def size(p: int) -> int:
        return int(np.minimum(vocab_size, p // rank).sum())

    low, high = 0, vocab_size * vocab_size
    while low < high:  # largest p with size(p) <= max_entries
        mid = (low + high + 1) // 2
        if size(mid) <= max_entries:
            low = mid
        else:
            high = mid - 1
    return np.minimum(vocab_size, low // rank)


def count_cooccurrences(
    scan: CorpusScan,
    remap: np.ndarray,
    vocab_size: int,
    *,
    window: int,
    memory_bytes: int,
    workdir: Path,
    progress: Callable[[CooccurrenceProgress], None] | None = None,
    buffer_records: int | None = None,
    dense_entries: int | None = None,
) -> Cooccurrences:
    """Count the pairs of scan's id file; buffer_records/dense_entries override the plan."""
    if scan.ids_path is None:
        raise ValueError("the scan has no id file to count")
    check_memory(memory_bytes / 2**30, window)
    started = time.perf_counter()
    if dense_entries is None:
        dense_bytes = min(
            int(memory_bytes * DENSE_SHARE), memory_bytes - minimum_memory_bytes(window)
        )
        dense_entries = min(vocab_size * vocab_size, max(dense_bytes, 0) // DENSE_BYTES)
    lengths = dense_lengths(vocab_size, dense_entries)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if buffer_records is None:
        buffer_records = (memory_bytes - int(offsets[-1]) * DENSE_BYTES) // RECORD_BYTES
        buffer_records = min(buffer_records, 2 * window * scan.words + 2)
    buffer_records = max(int(buffer_records), 2 * window)
    dense = np.zeros(int(offsets[-1]), dtype=np.float64)
    spill_keys = workdir / "spill-keys.i64"
    spill_vals = workdir / "spill-values.f64"
    run_bounds = _count_runs(
        scan,
        remap,
        vocab_size,
        window,
        lengths,
        offsets,
        dense,
        buffer_records,
        spill_keys,
        spill_vals,
        progress,
    )
    bounds = np.asarray(run_bounds, dtype=np.int64)
    total = int(bounds[-1])
    # The runs are read where they lie (memory-mapped): the merge walks each run in order,
    # so the page cache holds what it needs and the spills may be far larger than memory.
    sk = np.memmap(spill_keys, dtype=np.int64, mode="r") if total else np.zeros(1, np.int64)
    sv = np.memmap(spill_vals, dtype=np.float64, mode="r") if total else np.zeros(1, np.float64)
    upper = int(np.count_nonzero(dense)) + total
    arrays = [
        np.lib.format.open_memmap(
            workdir / f"{name}.npy", mode="w+", dtype=dt, shape=(max(upper, 1),)
        )
        for name, dt in (("rows", np.int32), ("cols", np.int32), ("values", np.float32))
    ]
    n = _merge(dense, lengths, offsets, vocab_size, sk, sv, bounds, *arrays)
    del dense, sk, sv
    spill_keys.unlink()
    spill_vals.unlink()
    rows, cols, values = (np.asarray(a)[:n] for a in arrays)
    return Cooccurrences(
        rows=rows,
        cols=cols,
        values=values,
        spills=len(run_bounds) - 1,
        dense_entries=int(offsets[-1]),
        buffer_records=buffer_records,
        seconds=time.perf_counter() - started,
    )


def _count_runs(
    scan: CorpusScan,
    remap: np.ndarray,
    vocab_size: int,
    window: int,
    lengths: np.ndarray,
    offsets: np.ndarray,
    dense: np.ndarray,
    buffer_records: int,
    spill_keys: Path,
    spill_vals: Path,
    progress: Callable[[CooccurrenceProgress], None] | None,
) -> list[int]:
    """Count every chunk into dense and the buffer, spilling sorted runs; return run bounds."""
    ids_path = scan.ids_path
    if ids_path is None:
        raise ValueError("the scan has no id file to count")
    keys = np.empty(buffer_records, dtype=np.int64)
    vals = np.empty(buffer_records, dtype=np.float32)
    scratch_keys = np.empty(buffer_records, dtype=np.int64)
    scratch_vals = np.empty(buffer_records, dtype=np.float32)
    run_bounds = [0]
    fill = 0
    done_words = 0
    with open(spill_keys, "wb") as out_keys, open(spill_vals, "wb") as out_vals:

        def spill(n: int) -> None:
            m = _sort_reduce(keys, vals, n, scratch_keys, scratch_vals)
            keys[:m].tofile(out_keys)
            scratch_keys.view(np.float64)[:m].tofile(out_vals)
            run_bounds.append(run_bounds[-1] + m)

        for chunk in range(len(scan.chunk_words)):
            start, stop = int(scan.chunk_bounds[chunk]), int(scan.chunk_bounds[chunk + 1])
            tokens = np.fromfile(ids_path, dtype=np.int32, count=stop - start, offset=4 * start)
            ids = _compact(tokens, remap)
            pos = 0
            while pos < len(ids):
                pos, fill = _count(
                    ids, pos, window, vocab_size, lengths, offsets, dense, keys, vals, fill
                )
                if pos < len(ids):
                    spill(fill)
                    fill = 0
            done_words += int(scan.chunk_words[chunk])
            if progress is not None:
                progress(CooccurrenceProgress(done_words, scan.words, len(run_bounds) - 1))
        if fill > 0:
            spill(fill)
    return run_bounds


@njit(cache=True, nogil=True)
def _compact(tokens: np.ndarray, remap: np.ndarray) -> np.ndarray:
    """Raw ids -> vocabulary ids, pruned words dropped, -1 kept at line ends."""
    out = np.empty(tokens.shape[0], dtype=np.int32)
    n = 0
    for t in tokens:
        if t < 0:
            out[n] = -1
            n += 1
        elif remap[t] >= 0:
            out[n] = remap[t]
            n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def _count(
    ids: np.ndarray,
    pos: int,
    window: int,
    vocab_size: int,
    lengths: np.ndarray,
    offsets: np.ndarray,
    dense: np.ndarray,
    keys: np.ndarray,
    vals: np.ndarray,
    fill: int,
) -> tuple[int, int]:
    """Count from pos until the end or a full buffer; return (next pos, buffer fill)."""
    cap = keys.shape[0]
    n_ids = ids.shape[0]
    v = np.int64(vocab_size)
    while pos < n_ids:
        c = ids[pos]
        if c >= 0:
            if fill + 2 * window > cap:
                return pos, fill
            for d in range(1, window + 1):
                q = pos - d
                if q < 0 or ids[q] < 0:
                    break
                b = ids[q]
                w = 1.0 / d
                if c < lengths[b]:  # (b+1)(c+1) <= P, symmetric: both cells are dense
                    dense[offsets[b] + c] += w
                    dense[offsets[c] + b] += w
                else:
                    keys[fill] = b * v + c
                    vals[fill] = w
                    keys[fill + 1] = c * v + b
                    vals[fill + 1] = w
                    fill += 2
        pos += 1
    return pos, fill


@njit(cache=True, nogil=True)
def _sort_reduce(
    keys: np.ndarray, vals: np.ndarray, n: int, scratch_keys: np.ndarray, scratch_vals: np.ndarray
) -> int:
    """LSD radix sort of keys[:n] (with vals), then sum duplicates.

    Leaves the m unique keys in keys[:m] and their float64 sums in scratch_keys' memory
    (viewed as float64); returns m.
    """
    top = np.int64(0)
    for i in range(n):
        top = max(top, keys[i])
    bits = 11
    radix = 1 << bits
    src_k, src_v, dst_k, dst_v = keys, vals, scratch_keys, scratch_vals
    shift = 0
    swapped = False
    while shift == 0 or (top >> shift) > 0:
        counts = np.zeros(radix + 1, dtype=np.int64)
        for i in range(n):
            counts[((src_k[i] >> shift) & (radix - 1)) + 1] += 1
        for r in range(radix):
            counts[r + 1] += counts[r]
        for i in range(n):
            r = (src_k[i] >> shift) & (radix - 1)
            dst_k[counts[r]] = src_k[i]
            dst_v[counts[r]] = src_v[i]
            counts[r] += 1
        src_k, src_v, dst_k, dst_v = dst_k, dst_v, src_k, src_v
        swapped = not swapped
        shift += bits
    if swapped:
        keys[:n] = scratch_keys[:n]
        vals[:n] = scratch_vals[:n]
    sums = scratch_keys.view(np.float64)
    m = 0
    i = 0
    while i < n:
        key = keys[i]
        total = 0.0
        while i < n and keys[i] == key:
            total += vals[i]
            i += 1
        keys[m] = key
        sums[m] = total
        m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def _sift_down(heap_keys: np.ndarray, heap_runs: np.ndarray, i: int, size: int) -> None:
    """Restore the min-heap below index i."""
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        child = left
        if left + 1 < size and heap_keys[left + 1] < heap_keys[left]:
            child = left + 1
        if heap_keys[child] >= heap_keys[i]:
            return
        heap_keys[i], heap_keys[child] = heap_keys[child], heap_keys[i]
        heap_runs[i], heap_runs[child] = heap_runs[child], heap_runs[i]
        i = child


@njit(cache=True, nogil=True)
def _merge(
    dense: np.ndarray,
    lengths: np.ndarray,
    offsets: np.ndarray,
    vocab_size: int,
    spill_keys: np.ndarray,
    spill_vals: np.ndarray,
    bounds: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
) -> int:
    """Row by row: the dense cells, then the sparse runs' keys of that row (heap-merged)."""
    v = np.int64(vocab_size)
    n_runs = bounds.shape[0] - 1
    pos = bounds[:-1].copy()
    heap_keys = np.empty(max(n_runs, 1), dtype=np.int64)
    heap_runs = np.empty(max(n_runs, 1), dtype=np.int64)
    size = 0
    for r in range(n_runs):  # insert each non-empty run, then heapify
        if bounds[r] < bounds[r + 1]:
            heap_keys[size] = spill_keys[bounds[r]]
            heap_runs[size] = r
            size += 1
    for start in range(size // 2 - 1, -1, -1):
        _sift_down(heap_keys, heap_runs, start, size)
    n = 0
    for a in range(vocab_size):
        base = offsets[a]
        for b in range(lengths[a]):
            x = dense[base + b]
            if x != 0.0:
                rows[n] = a
                cols[n] = b
                values[n] = x
                n += 1
        row_end = (a + 1) * v
        while size > 0 and heap_keys[0] < row_end:
            key = heap_keys[0]
            total = 0.0
            while size > 0 and heap_keys[0] == key:
                r = heap_runs[0]
                total += spill_vals[pos[r]]
                pos[r] += 1
                if pos[r] < bounds[r + 1]:
                    heap_keys[0] = spill_keys[pos[r]]
                else:
                    size -= 1
                    heap_keys[0] = heap_keys[size]
                    heap_runs[0] = heap_runs[size]
                _sift_down(heap_keys, heap_runs, 0, size)
            rows[n] = key // v
            cols[n] = key % v
            values[n] = total
            n += 1
    return n

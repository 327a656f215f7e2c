"""A compiled string interner: token bytes → dense ids and counts, no Python object per word."""

from __future__ import annotations

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
SENTENCE_END = -1  # the id written for a line end


@njit(cache=True, nogil=True)
def _fnv1a(data: np.ndarray, start: int, stop: int) -> np.uint64:
    h = _FNV_OFFSET
    for j in range(start, stop):
        h = (h ^ np.uint64(data[j])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def _only_apostrophes(data: np.ndarray, start: int, stop: int) -> bool:
    """True if data[start:stop] is made of ' (0x27) and ’ (E2 80 99) alone: no token."""
    j = start
    while j < stop:
        if data[j] == 0x27:
            j += 1
        elif data[j] == 0xE2 and j + 2 < stop and data[j + 1] == 0x80 and data[j + 2] == 0x99:
            j += 3
        else:
            return False
    return True


@njit(cache=True, nogil=True)
def _intern_block(
    buf: np.ndarray,
    table: np.ndarray,
    pool: np.ndarray,
    pool_used: int,
    offsets: np.ndarray,
    lengths: np.ndarray,
    counts: np.ndarray,
    n_keys: int,
    out: np.ndarray,
) -> tuple[int, int, int, int]:
    """Split buf on spaces (0x20) and line ends (0x01); write one id per token to out.

    Runs of apostrophes alone are skipped, as :func:`embedlab.text.tokenize` does.
    """
    mask = np.uint64(table.shape[0] - 1)
    n = buf.shape[0]
    n_out = 0
    n_words = 0
    i = 0
    while i < n:
        b = buf[i]
        if b == 32:
            i += 1
            continue
        if b == 1:
            out[n_out] = SENTENCE_END
            n_out += 1
            i += 1
            continue
        start = i
        while i < n and buf[i] != 32 and buf[i] != 1:
            i += 1
        length = i - start
        if _only_apostrophes(buf, start, i):
            continue
        slot = np.int64(_fnv1a(buf, start, i) & mask)
        while True:
            k = table[slot]
            if k < 0:
                k = n_keys
                n_keys += 1
                pool[pool_used : pool_used + length] = buf[start:i]
                offsets[k] = pool_used
                lengths[k] = length
                pool_used += length
                table[slot] = k
                break
            if lengths[k] == length:
                off = offsets[k]
                same = True
                for j in range(length):
                    if pool[off + j] != buf[start + j]:
                        same = False
                        break
                if same:
                    break
            slot = (slot + 1) & np.int64(mask)
        counts[k] += 1
        out[n_out] = k
        n_out += 1
        n_words += 1
    return n_out, n_words, n_keys, pool_used


@njit(cache=True, nogil=True)
def _find(
    key: np.ndarray, table: np.ndarray, pool: np.ndarray, offsets: np.ndarray, lengths: np.ndarray
) -> int:
    mask = np.uint64(table.shape[0] - 1)
    slot = np.int64(_fnv1a(key, 0, key.shape[0]) & mask)
    while True:
        k = table[slot]
        if k < 0:
            return -1
        if lengths[k] == key.shape[0]:
            off = offsets[k]
            same = True
            for j in range(key.shape[0]):
                if pool[off + j] != key[j]:
                    same = False
                    break
            if same:
                return int(k)
        slot = (slot + 1) & np.int64(mask)


@njit(cache=True, nogil=True)
def _rehash(
    table: np.ndarray, pool: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, n_keys: int
) -> None:
    mask = np.uint64(table.shape[0] - 1)
    table[:] = -1
    for k in range(n_keys):
        slot = np.int64(_fnv1a(pool, offsets[k], offsets[k] + lengths[k]) & mask)
        while table[slot] >= 0:
            slot = (slot + 1) & np.int64(mask)
        table[slot] = k


class Interner:
    """Assigns ids to distinct token byte strings in order of first appearance, and counts them.

    Example:
        >>> interner = Interner()
        >>> ids, words = interner.feed(b"a b a\\x01b")
        >>> ids.tolist(), words, interner.keys(), interner.counts().tolist()
        ([0, 1, 0, -1, 1], 4, ['a', 'b'], [2, 2])
    """

    def __init__(self) -> None:
        self._table = np.full(1 << 16, -1, dtype=np.int32)
        self._pool = np.empty(1 << 20, dtype=np.uint8)
        self._pool_used = 0
        self._offsets = np.empty(1 << 15, dtype=np.int64)
        self._lengths = np.empty(1 << 15, dtype=np.int32)
        self._counts = np.zeros(1 << 15, dtype=np.int64)
        self._n_keys = 0

    def __len__(self) -> int:
        return self._n_keys

    def feed(self, data: bytes) -> tuple[np.ndarray, int]:
        """Intern one block; return (ids with -1 at line ends, number of word tokens)."""
        buf = np.frombuffer(data, dtype=np.uint8)
        self._reserve(len(buf))
        out = np.empty(len(buf), dtype=np.int32)
        n_out, n_words, self._n_keys, self._pool_used = _intern_block(
            buf,
            self._table,
            self._pool,
            self._pool_used,
            self._offsets,
            self._lengths,
            self._counts,
            self._n_keys,
            out,
        )
        return out[:n_out], n_words

    def keys(self, ids: np.ndarray | None = None) -> list[str]:
        """The distinct tokens, by id (all of them, or those of ids)."""
        if ids is None:
            ids = np.arange(self._n_keys)
        pool = self._pool
        offsets = self._offsets[ids].tolist()
        ends = (self._offsets[ids] + self._lengths[ids]).tolist()
        return [pool[o:e].tobytes().decode("utf-8") for o, e in zip(offsets, ends, strict=True)]

    def find(self, key: str) -> int:
        """Id of key, or -1 if it never appeared."""
        data = np.frombuffer(key.encode("utf-8"), dtype=np.uint8)
        return _find(data, self._table, self._pool, self._offsets, self._lengths)

    def edge_mask(self, edge: bytes) -> np.ndarray:
        """Which ids start or end with the byte string edge (e.g. an apostrophe)."""
        n = len(edge)
        lengths = self._lengths[: self._n_keys]
        starts = self._offsets[: self._n_keys]
        long_enough = lengths >= n
        first = np.ones(self._n_keys, dtype=bool)
        last = np.ones(self._n_keys, dtype=bool)
        for j, byte in enumerate(edge):
            first &= self._pool[np.where(long_enough, starts + j, 0)] == byte
            last &= self._pool[np.where(long_enough, starts + lengths - n + j, 0)] == byte
        return long_enough & (first | last)

    def counts(self) -> np.ndarray:
        """Occurrences of each distinct token, by id (int64)."""
        return self._counts[: self._n_keys].copy()

    def _reserve(self, block_len: int) -> None:
        """Grow every array so that a block of block_len bytes cannot overflow them."""
        max_keys = self._n_keys + block_len // 2 + 1
        if len(self._offsets) < max_keys:
            size = _next_pow2(max_keys)
            self._offsets = _grown(self._offsets, size)
            self._lengths = _grown(self._lengths, size)
            self._counts = _grown(self._counts, size, zero=True)
        if len(self._pool) < self._pool_used + block_len:
            self._pool = _grown(self._pool, _next_pow2(self._pool_used + block_len))
        if len(self._table) < 2 * max_keys:
            self._table = np.empty(_next_pow2(2 * max_keys), dtype=np.int32)
            _rehash(self._table, self._pool, self._offsets, self._lengths, self._n_keys)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def _grown(array: np.ndarray, size: int, *, zero: bool = False) -> np.ndarray:
    bigger = np.zeros(size, dtype=array.dtype) if zero else np.empty(size, dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger

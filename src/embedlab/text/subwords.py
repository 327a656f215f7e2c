"""Character n-grams of words, hashed into buckets exactly as Facebook's fastText does.

A word is wrapped as ``<word>``; its n-grams are the runs of ``min_n``..``max_n``
characters (UTF-8 continuation bytes stay with their character), leaving out the lone
``<`` and ``>``. Each n-gram's UTF-8 bytes are hashed with 32-bit FNV-1a, XOR-ing each
byte as a *signed* char (fastText's quirk, kept so that its ``.bin`` models load), and
the hash modulo ``buckets`` picks a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

__all__ = ["char_ngrams", "fasttext_hash", "ngram_buckets", "ngram_buckets_many"]

_FNV32_OFFSET = 2166136261
_FNV32_PRIME = 16777619
_MASK32 = np.uint64(0xFFFFFFFF)


def fasttext_hash(data: bytes) -> int:
    """fastText's 32-bit FNV-1a over signed bytes.

    Example:
        >>> fasttext_hash(b"<ca")
        1066916747
    """
    h = _FNV32_OFFSET
    for b in data:
        h ^= (b - 256 if b > 127 else b) & 0xFFFFFFFF
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The character n-grams of ``<word>`` that fastText uses, shortest first per position.

    Example:
        >>> char_ngrams("cat", 3, 4)
        ['<ca', '<cat', 'cat', 'cat>', 'at>']
    """
    data = ("<" + word + ">").encode("utf-8")
    return [data[a:b].decode("utf-8") for a, b in _spans(data, min_n, max_n)]


def ngram_buckets(word: str, min_n: int, max_n: int, buckets: int) -> np.ndarray:
    """Bucket ids (int64) of a word's n-grams, in the order of :func:`char_ngrams`.

    Example:
        >>> ngram_buckets("cat", 3, 3, 2_000_000).tolist()
        [916747, 289031, 351106]
    """
    data = ("<" + word + ">").encode("utf-8")
    return np.array(
        [fasttext_hash(data[a:b]) % buckets for a, b in _spans(data, min_n, max_n)],
        dtype=np.int64,
    )


def ngram_buckets_many(
    words: Sequence[str], min_n: int, max_n: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bucket ids of many words at once, compiled: (offsets (len+1,), bucket ids).

    Word ``i``'s buckets are ``ids[offsets[i]:offsets[i + 1]]``.
    """
    encoded = [("<" + w + ">").encode("utf-8") for w in words]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return _buckets_kernel(buf, starts, min_n, max_n, buckets)


def _spans(data: bytes, min_n: int, max_n: int) -> list[tuple[int, int]]:
    spans = []
    size = len(data)
    for i in range(size):
        if data[i] & 0xC0 == 0x80:
            continue
        j, n = i, 1
        while j < size and n <= max_n:
            j += 1
            while j < size and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= min_n and not (n == 1 and (i == 0 or j == size)):
                spans.append((i, j))
            n += 1
    return spans


@njit(cache=True, nogil=True, inline="always")
def _fnv32_step(h: np.uint64, byte: np.uint8) -> np.uint64:
    """One FNV-1a step on 32 bits (held in a uint64), the byte taken as a signed char."""
    signed = np.uint64(np.int64(byte) - 256 if byte > 127 else np.int64(byte)) & _MASK32
    return ((h ^ signed) * np.uint64(_FNV32_PRIME)) & _MASK32


@njit(cache=True, nogil=True)
def _buckets_kernel(
    buf: np.ndarray, starts: np.ndarray, min_n: int, max_n: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    n_words = starts.shape[0] - 1
    offsets = np.zeros(n_words + 1, dtype=np.int64)
    # At most max_n - min_n + 1 n-grams start at each byte.
    out = np.empty(buf.shape[0] * (max_n - min_n + 1) + 1, dtype=np.int64)
    count = 0
    for w in range(n_words):
        lo, hi = starts[w], starts[w + 1]
        for i in range(lo, hi):
            if buf[i] & 0xC0 == 0x80:
                continue
            j = i
            n = 1
            h = np.uint64(_FNV32_OFFSET)
            while j < hi and n <= max_n:
                h = _fnv32_step(h, buf[j])
                j += 1
                while j < hi and buf[j] & 0xC0 == 0x80:
                    h = _fnv32_step(h, buf[j])
                    j += 1
                if n >= min_n and not (n == 1 and (i == lo or j == hi)):
                    out[count] = np.int64(h) % buckets
                    count += 1
                n += 1
        offsets[w + 1] = count
    return offsets, out[:count].copy()

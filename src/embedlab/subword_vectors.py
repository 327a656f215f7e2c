"""FastTextVectors: word vectors composed from a word row and hashed character n-gram rows.

A word in the vocabulary gets the mean of its own row and its n-grams' rows; a word never
seen gets the mean of its n-grams' rows, so ``ft["unseeable"]`` works while
``"unseeable" in ft.vocab`` is False. Buckets no vocabulary word uses carry no trained
row: they count as zero vectors in the mean (fastText leaves them at a small random
initialisation, which carries no information either).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from embedlab._validation import check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError, UnknownKeyError
from embedlab.metrics import normalize
from embedlab.text.subwords import ngram_buckets, ngram_buckets_many
from embedlab.vectors import WordVectors

__all__ = ["FastTextVectors"]


class FastTextVectors(WordVectors):
    """Subword-aware word vectors (fastText).

    ``vectors_vocab`` holds each vocabulary word's own row; ``vectors_ngrams`` the n-gram
    rows, one per bucket in ``ngram_buckets`` (sorted bucket ids), or one per bucket
    ``0..buckets-1`` when ``ngram_buckets`` is None. ``vectors`` (what neighbour search
    uses) are the composed vectors of the vocabulary words.

    Example:
        >>> import numpy as np
        >>> ft = FastTextVectors(["cat"], np.ones((1, 2)), np.zeros((100, 2)), min_n=3,
        ...                      max_n=3, buckets=100)
        >>> ft["cat"].tolist(), ft["cats"].tolist(), "cats" in ft.vocab
        ([0.25, 0.25], [0.0, 0.0], False)
    """

    def __init__(
        self,
        keys: Sequence[str],
        vectors_vocab: npt.ArrayLike,
        vectors_ngrams: npt.ArrayLike,
        *,
        min_n: int,
        max_n: int,
        buckets: int,
        ngram_buckets: npt.ArrayLike | None = None,
        counts: npt.ArrayLike | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.min_n = check_int("min_n", min_n)
        self.max_n = check_int("max_n", max_n)
        if self.min_n > self.max_n:
            raise InvalidParameterError(
                f"min_n must not exceed max_n; got min_n={self.min_n}, max_n={self.max_n}"
            )
        self.buckets = check_int("buckets", buckets)
        self.vectors_vocab = np.ascontiguousarray(vectors_vocab, dtype=np.float32)
        self.vectors_ngrams = np.ascontiguousarray(vectors_ngrams, dtype=np.float32)
        if self.vectors_ngrams.ndim != 2 or self.vectors_vocab.ndim != 2:
            raise DimensionMismatchError("vectors_vocab and vectors_ngrams must be 2-D matrices")
        if self.vectors_ngrams.shape[1] != self.vectors_vocab.shape[1]:
            raise DimensionMismatchError(
                f"n-gram rows have {self.vectors_ngrams.shape[1]} dimensions, word rows "
                f"{self.vectors_vocab.shape[1]}"
            )
        if ngram_buckets is None:
            self.ngram_buckets: np.ndarray | None = None
            expected = self.buckets
        else:
            self.ngram_buckets = np.asarray(ngram_buckets, dtype=np.int64)
            expected = len(self.ngram_buckets)
            if np.any(np.diff(self.ngram_buckets) <= 0) or (
                expected and not 0 <= self.ngram_buckets[0] <= self.ngram_buckets[-1] < buckets
            ):
                raise InvalidParameterError(
                    f"ngram_buckets must be sorted, distinct bucket ids in [0, {buckets})"
                )
        if self.vectors_ngrams.shape[0] != expected:
            raise DimensionMismatchError(
                f"expected {expected} n-gram rows; got {self.vectors_ngrams.shape[0]}"
            )
        composed = self._compose_vocab(list(keys))
        super().__init__(keys, composed, counts=counts, config=config)

    # -- what persistence needs (embedlab.io saves these beside the composed vectors) ----
    def subword_config(self) -> dict[str, int]:
        """The n-gram settings: ``min_n``, ``max_n`` and ``buckets``.

        With :meth:`subword_arrays`, the keys, counts and config, they rebuild this model
        through :meth:`from_subwords`.

        Example:
            >>> ft = FastTextVectors(["cat"], np.ones((1, 2)), np.zeros((100, 2)),
            ...                      min_n=3, max_n=3, buckets=100)
            >>> ft.subword_config()
            {'min_n': 3, 'max_n': 3, 'buckets': 100}
        """
        return {"min_n": self.min_n, "max_n": self.max_n, "buckets": self.buckets}

    def subword_arrays(self) -> dict[str, np.ndarray]:
        """The arrays behind the composed vectors, by constructor argument name.

        ``vectors_vocab`` and ``vectors_ngrams``, plus ``ngram_buckets`` when it is set.

        Example:
            >>> ft = FastTextVectors(["cat"], np.ones((1, 2)), np.zeros((100, 2)),
            ...                      min_n=3, max_n=3, buckets=100)
            >>> sorted(ft.subword_arrays())
            ['vectors_ngrams', 'vectors_vocab']
        """
        arrays = {"vectors_vocab": self.vectors_vocab, "vectors_ngrams": self.vectors_ngrams}
        if self.ngram_buckets is not None:
            arrays["ngram_buckets"] = self.ngram_buckets
        return arrays

    @classmethod
    def from_subwords(
        cls,
        keys: Sequence[str],
        arrays: Mapping[str, npt.ArrayLike],
        subwords: Mapping[str, int],
        *,
        counts: npt.ArrayLike | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> FastTextVectors:
        """Rebuild a model from :meth:`subword_arrays` and :meth:`subword_config`.

        Example:
            >>> ft = FastTextVectors(["cat"], np.ones((1, 2)), np.zeros((100, 2)),
            ...                      min_n=3, max_n=3, buckets=100)
            >>> again = FastTextVectors.from_subwords(
            ...     ft.keys, ft.subword_arrays(), ft.subword_config())
            >>> again["cats"].tolist() == ft["cats"].tolist()
            True
        """
        return cls(
            keys,
            arrays["vectors_vocab"],
            arrays["vectors_ngrams"],
            min_n=subwords["min_n"],
            max_n=subwords["max_n"],
            buckets=subwords["buckets"],
            ngram_buckets=arrays.get("ngram_buckets"),
            counts=counts,
            config=config,
        )

    @property
    def vocab(self) -> Mapping[str, int]:
        """The words seen in training (key → row); other words are composed from n-grams."""
        return self.key_to_index

    def __getitem__(self, key: str) -> np.ndarray:
        index = self.key_to_index.get(key)
        if index is not None:
            row: np.ndarray = self.vectors[index]
            return row
        rows = self._rows(ngram_buckets(str(key), self.min_n, self.max_n, self.buckets))
        if len(rows) == 0:
            raise UnknownKeyError(str(key), self._suggest(str(key)))
        total = self.vectors_ngrams[rows[rows >= 0]].sum(axis=0, dtype=np.float32)
        vector: np.ndarray = (total / np.float32(len(rows))).astype(np.float32)
        return vector

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        """The vector of any word, composed from n-grams when it is not in the vocabulary
        (at unit length with ``norm=True``, as gensim)."""
        vector = self[key]
        return normalize(vector) if norm else vector

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words, either of which may be out of the vocabulary."""
        a, b = normalize(self[w1]), normalize(self[w2])
        return float(a @ b)

    def _term_vector(self, term: str, *, unit: bool) -> tuple[np.ndarray, int | None]:
        if term in self.key_to_index:
            return super()._term_vector(term, unit=unit)
        vector = self[term]
        return (normalize(vector) if unit else vector), None

    def _rows(self, bucket_ids: np.ndarray) -> np.ndarray:
        """Row of each bucket in vectors_ngrams, -1 where the bucket has no row."""
        if self.ngram_buckets is None:
            return bucket_ids
        pos = np.searchsorted(self.ngram_buckets, bucket_ids)
        pos = np.minimum(pos, max(len(self.ngram_buckets) - 1, 0))
        found = len(self.ngram_buckets) > 0
        hit = (self.ngram_buckets[pos] == bucket_ids) if found else np.zeros_like(pos, bool)
        return np.where(hit, pos, -1)

    def _compose_vocab(self, keys: list[str]) -> np.ndarray:
        if len(keys) != self.vectors_vocab.shape[0]:
            raise DimensionMismatchError(
                f"number of keys ({len(keys)}) does not match number of word rows "
                f"({self.vectors_vocab.shape[0]})"
            )
        offsets, bucket_ids = ngram_buckets_many(keys, self.min_n, self.max_n, self.buckets)
        return _compose(self.vectors_vocab, self.vectors_ngrams, offsets, self._rows(bucket_ids))


@njit(cache=True, nogil=True, fastmath=True)
def _compose(
    vocab: np.ndarray, ngrams: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Mean of each word's own row and its n-gram rows (rows < 0 count as zero vectors)."""
    out = vocab.copy()
    for w in range(vocab.shape[0]):
        for p in range(offsets[w], offsets[w + 1]):
            r = rows[p]
            if r >= 0:
                for k in range(vocab.shape[1]):
                    out[w, k] += ngrams[r, k]
        scale = np.float32(1.0 / (1 + offsets[w + 1] - offsets[w]))
        for k in range(vocab.shape[1]):
            out[w, k] *= scale
    return out

"""FastText: Word2Vec over words plus hashed character n-grams (Bojanowski et al. 2017).

A word's input vector is the mean of its own row and the rows of its n-grams, so words
never seen in training still get a vector from their n-grams. Only buckets that some
vocabulary word uses get a row (the rest could never be trained), which keeps memory at
a fraction of a full ``buckets x dim`` matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError
from embedlab.subword_vectors import FastTextVectors
from embedlab.text.subwords import ngram_buckets_many
from embedlab.text.vocabulary import Vocabulary
from embedlab.train._sgns import NegativeSamplingTrainer, SgnsParams

__all__ = ["FastText", "FastTextParams"]


@dataclass(frozen=True)
class FastTextParams(SgnsParams):
    """Hyper-parameters of a FastText run: Word2Vec's plus the n-gram range and buckets."""

    min_n: int = 3
    max_n: int = 6
    buckets: int = 2_000_000

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("min_n", self.min_n)
        check_int("max_n", self.max_n)
        check_int("buckets", self.buckets)
        if self.min_n > self.max_n:
            raise InvalidParameterError(
                f"min_n must not exceed max_n; got min_n={self.min_n}, max_n={self.max_n}"
            )


class FastText(NegativeSamplingTrainer[FastTextParams, FastTextVectors]):
    """Train subword-aware word vectors (skip-gram or CBOW, negative sampling).

    Example:
        >>> corpus = ["the cat sat on the mat", "the dog sat on the log"] * 50
        >>> ft = FastText(dim=16, min_count=1, epochs=2, threads=1).train(corpus)
        >>> "cats" in ft.vocab, ft["cats"].shape
        (False, (16,))
    """

    params_class = FastTextParams
    kind = "fasttext"
    cache_lines = True

    def _input_layout(
        self, vocab: Vocabulary, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Word rows, then one row per used bucket; each word averages its row and n-grams'.

        Rows start uniform in [-1/dim, 1/dim), as fastText and gensim do.
        """
        p = self.params
        offsets, bucket_ids = ngram_buckets_many(vocab.keys, p.min_n, p.max_n, p.buckets)
        # Rows go to buckets in order of first use by the words, most frequent first, so
        # the n-grams of frequent words sit together in memory (fewer cache and TLB misses).
        self._used_buckets, first_use, inverse = np.unique(
            bucket_ids, return_index=True, return_inverse=True
        )
        self._row_of_bucket = np.empty(len(first_use), dtype=np.int64)
        self._row_of_bucket[np.argsort(first_use, kind="stable")] = np.arange(len(first_use))
        ngram_rows = self._row_of_bucket[inverse]
        n_words = len(vocab)
        counts = np.diff(offsets)
        sub_offsets = np.zeros(n_words + 1, dtype=np.int64)
        np.cumsum(counts + 1, out=sub_offsets[1:])
        sub_rows = np.empty(sub_offsets[-1], dtype=np.int32)
        starts = sub_offsets[:-1]
        sub_rows[starts] = np.arange(n_words, dtype=np.int32)  # the word's own row first
        ngram_slots = np.ones(len(sub_rows), dtype=bool)
        ngram_slots[starts] = False
        sub_rows[ngram_slots] = n_words + ngram_rows.astype(np.int32)
        n_rows = n_words + len(self._used_buckets)
        bound = np.float32(1.0 / p.dim)
        w_in = (rng.random((n_rows, p.dim), dtype=np.float32) * 2 - 1) * bound
        return w_in, sub_offsets, sub_rows

    def _layout_memo(self) -> Any:
        return getattr(self, "_used_buckets", None), getattr(self, "_row_of_bucket", None)

    def _carry_over(
        self, w_in: np.ndarray, old: np.ndarray, n_old: int, n_new: int, memo: Any
    ) -> None:
        """Old words keep their rows, and every bucket the old layout had keeps its row's
        values (at its row in the new layout); buckets new words bring start fresh."""
        super()._carry_over(w_in, old, n_old, n_new, memo)
        old_used, old_rows = memo
        if old_used is None or len(old_used) == 0:
            return
        at = np.minimum(np.searchsorted(old_used, self._used_buckets), len(old_used) - 1)
        kept = old_used[at] == self._used_buckets
        w_in[n_new + self._row_of_bucket[kept]] = old[n_old + old_rows[at[kept]]]

    def _vectors(self, vocab: Vocabulary, w_in: np.ndarray) -> FastTextVectors:
        p = self.params
        n_words = len(vocab)
        return FastTextVectors(
            vocab.keys,
            w_in[:n_words],
            w_in[n_words + self._row_of_bucket],  # back to sorted bucket order
            min_n=p.min_n,
            max_n=p.max_n,
            buckets=p.buckets,
            ngram_buckets=self._used_buckets,
            counts=vocab.counts,
            config=self._config(),
        )

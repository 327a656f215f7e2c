"""Word2Vec: skip-gram and CBOW with negative sampling, trained by compiled kernels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embedlab.text.vocabulary import Vocabulary
from embedlab.train._sgns import NegativeSamplingTrainer, SgnsParams, TrainingStats
from embedlab.vectors import WordVectors

__all__ = ["TrainingStats", "Word2Vec", "Word2VecParams"]


@dataclass(frozen=True)
class Word2VecParams(SgnsParams):
    """Hyper-parameters of a Word2Vec run (gensim's defaults, CBOW unless sg=True)."""


class Word2Vec(NegativeSamplingTrainer[Word2VecParams, WordVectors]):
    """Train word vectors with skip-gram or CBOW and negative sampling.

    Example:
        >>> corpus = ["the cat sat on the mat", "the dog sat on the log"] * 50
        >>> wv = Word2Vec(dim=16, min_count=1, epochs=2, threads=1).train(corpus)
        >>> len(wv), wv.dim
        (7, 16)
    """

    params_class = Word2VecParams
    kind = "word2vec"
    resumable = True

    def _input_layout(
        self, vocab: Vocabulary, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One row per word, initialised uniformly in [-1, 1) / dim, as gensim (and our
        FastText) do: word2vec.c's narrower [-0.5, 0.5) / dim cost CBOW ~0.01 of analogy
        accuracy on GCIDE (benchmarks/RESULTS.md, "CBOW analogy gap")."""
        dim = self.params.dim
        w_in = (rng.random((len(vocab), dim), dtype=np.float32) * 2 - 1) / np.float32(dim)
        return (
            w_in,
            np.arange(len(vocab) + 1, dtype=np.int64),
            np.arange(len(vocab), dtype=np.int32),
        )

    def _vectors(self, vocab: Vocabulary, w_in: np.ndarray) -> WordVectors:
        return WordVectors(vocab.keys, w_in, counts=vocab.counts, config=self._config())

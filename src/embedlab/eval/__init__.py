"""Intrinsic evaluation of word vectors: analogies and word-pair similarity.

Both follow gensim 4's ``evaluate_word_analogies`` / ``evaluate_word_pairs`` and default to
the packaged Google analogy set and WordSim-353.

Example:
    >>> from embedlab.eval import default_word_pairs_path
    >>> default_word_pairs_path().name
    'wordsim353.tsv'
"""

from __future__ import annotations

from embedlab.datasets import default_analogies_path, default_word_pairs_path
from embedlab.eval.analogy import AnalogyMethod, AnalogyResult, SectionResult, evaluate_analogies
from embedlab.eval.word_similarity import EvaluationError, WordPairsResult, evaluate_word_pairs

__all__ = [
    "AnalogyMethod",
    "AnalogyResult",
    "EvaluationError",
    "SectionResult",
    "WordPairsResult",
    "default_analogies_path",
    "default_word_pairs_path",
    "evaluate_analogies",
    "evaluate_word_pairs",
]

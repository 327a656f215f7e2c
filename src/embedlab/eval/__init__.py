"""Evaluation: word vectors (analogies, word-pair similarity), retrieval, ANN quality.

- analogies and word pairs follow gensim 4's ``evaluate_word_analogies`` /
  ``evaluate_word_pairs`` and default to the packaged Google analogy set and WordSim-353;
- retrieval metrics (:func:`evaluate_run`) follow trec_eval's conventions, read TREC or
  JSONL qrels and runs, and compare two runs with paired tests (:func:`compare_runs`);
  :func:`evaluate_search` scores ``embedlab.search.search`` on a collection directly;
- :func:`ann_sweep` measures an index's recall@k against exact search and its speed.

Example:
    >>> from embedlab.eval import default_word_pairs_path
    >>> default_word_pairs_path().name
    'wordsim353.tsv'
"""

from __future__ import annotations

from embedlab.datasets import default_analogies_path, default_word_pairs_path
from embedlab.eval.analogy import AnalogyMethod, AnalogyResult, SectionResult, evaluate_analogies
from embedlab.eval.ann import AnnReport, SweepRow, ann_recall, ann_sweep, exact_neighbours
from embedlab.eval.retrieval import (
    DEFAULT_MEASURES,
    Measure,
    RetrievalResult,
    evaluate_run,
    parse_measure,
    ranking,
)
from embedlab.eval.runs import Qrels, Run, read_qrels, read_run, write_run
from embedlab.eval.search_eval import SearchEvaluation, evaluate_search, search_run
from embedlab.eval.significance import PairedTest, SignificanceResult, compare_runs, paired_test
from embedlab.eval.word_similarity import EvaluationError, WordPairsResult, evaluate_word_pairs

__all__ = [
    "DEFAULT_MEASURES",
    "AnalogyMethod",
    "AnalogyResult",
    "AnnReport",
    "EvaluationError",
    "Measure",
    "PairedTest",
    "Qrels",
    "RetrievalResult",
    "Run",
    "SearchEvaluation",
    "SectionResult",
    "SignificanceResult",
    "SweepRow",
    "WordPairsResult",
    "ann_recall",
    "ann_sweep",
    "compare_runs",
    "default_analogies_path",
    "default_word_pairs_path",
    "evaluate_analogies",
    "evaluate_run",
    "evaluate_search",
    "evaluate_word_pairs",
    "exact_neighbours",
    "paired_test",
    "parse_measure",
    "ranking",
    "read_qrels",
    "read_run",
    "search_run",
    "write_run",
]

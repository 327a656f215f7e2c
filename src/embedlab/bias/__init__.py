"""Bias audits of embeddings: WEAT, SEAT, bias directions, hard debiasing, hidden bias.

Every function takes any source of vectors: a :class:`~embedlab.vectors.WordVectors`, a
store ``Collection`` (ids as keys) or keys with an array. Every result has ``describe()``,
which says in plain words what was measured and how to read it.

- :func:`weat` / :func:`weat_scores`: Caliskan et al. 2017, with the ten original tests
  bundled (:func:`weat_tests`);
- :func:`seat`: May et al. 2019, the same tests in sentence templates, any encoder;
- :func:`bias_direction`, :func:`direct_bias`, :func:`hard_debias`: Bolukbasi et al. 2016;
- :func:`hidden_bias`: Gonen and Goldberg 2019, what debiasing leaves behind.

Example:
    >>> from embedlab.bias import weat_test
    >>> weat_test("weat1").targets[0].words[:3]
    ('aster', 'clover', 'hyacinth')
"""

from __future__ import annotations

from embedlab.bias.debias import (
    EQUALIZE_PAIRS,
    GENDER_SPECIFIC,
    DebiasResult,
    WeatComparison,
    compare_weat,
    hard_debias,
)
from embedlab.bias.direction import (
    GENDER_PAIRS,
    BiasDirection,
    DirectBias,
    bias_direction,
    direct_bias,
)
from embedlab.bias.hidden import HiddenBiasReport, SpaceScores, hidden_bias
from embedlab.bias.seat import BLEACHED_TEMPLATES, seat, sentences
from embedlab.bias.source import VectorSource, as_word_vectors, find_key
from embedlab.bias.weat import WeatResult, WeatScores, association, weat, weat_scores
from embedlab.bias.wordsets import WeatTest, WordSet, read_word_sets, weat_test, weat_tests

__all__ = [
    "BLEACHED_TEMPLATES",
    "EQUALIZE_PAIRS",
    "GENDER_PAIRS",
    "GENDER_SPECIFIC",
    "BiasDirection",
    "DebiasResult",
    "DirectBias",
    "HiddenBiasReport",
    "SpaceScores",
    "VectorSource",
    "WeatComparison",
    "WeatResult",
    "WeatScores",
    "WeatTest",
    "WordSet",
    "as_word_vectors",
    "association",
    "bias_direction",
    "compare_weat",
    "direct_bias",
    "find_key",
    "hard_debias",
    "hidden_bias",
    "read_word_sets",
    "seat",
    "sentences",
    "weat",
    "weat_scores",
    "weat_test",
    "weat_tests",
]

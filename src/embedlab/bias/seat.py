"""SEAT, the Sentence Encoder Association Test (May et al. 2019), for any sentence encoder.

Each word of a WEAT test is placed in semantically *bleached* templates ("This is X.",
"X is here.", …), every sentence is encoded, and the WEAT runs on the sentence vectors:
each set becomes its words x templates sentences. With that many items the exact
permutation test is out of reach, so the p-value is sampled (see :mod:`embedlab.bias.weat`).

Example:
    >>> sentences("rose", ("This is {}.", "{} is here."))
    ['This is rose.', 'rose is here.']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from embedlab.bias.weat import DEFAULT_PERMUTATIONS, MAX_EXACT_PARTITIONS, WeatResult, weat
from embedlab.bias.wordsets import WeatTest, WordSet
from embedlab.errors import InvalidParameterError
from embedlab.vectors import WordVectors

if TYPE_CHECKING:
    from embedlab.encoders.base import Encoder

__all__ = ["BLEACHED_TEMPLATES", "seat", "sentences"]

BLEACHED_TEMPLATES: tuple[str, ...] = (
    "This is {}.",
    "That is {}.",
    "There is {}.",
    "Here is {}.",
    "{} is here.",
    "{} is there.",
    "It is {}.",
    "{} is a word.",
)
"""Bleached templates in the manner of May et al. 2019 (their word-level SEAT variants)."""


def sentences(word: str, templates: Sequence[str] = BLEACHED_TEMPLATES) -> list[str]:
    """``word`` placed in each template (``{}`` marks its place).

    Example:
        >>> sentences("math", ("It is {}.",))
        ['It is math.']
    """
    return [t.format(word) for t in templates]


def seat(
    encoder: Encoder,
    test: WeatTest,
    *,
    templates: Sequence[str] = BLEACHED_TEMPLATES,
    ddof: int = 1,
    permutations: int = DEFAULT_PERMUTATIONS,
    max_exact: int = MAX_EXACT_PARTITIONS,
    seed: int = 0,
    batch_size: int = 64,
) -> WeatResult:
    """The WEAT ``test`` on ``encoder``'s vectors of the words in ``templates``.

    Every word is encodable, so no word is missing; the result's ``used`` lists the
    sentences of each set.

    Example:
        >>> from embedlab.encoders import load
        >>> from embedlab.bias.wordsets import weat_test
        >>> seat(load("minilm"), weat_test("weat7")).effect_size  # doctest: +SKIP
        0.97...
    """
    templates = tuple(templates)
    if not templates or not all(isinstance(t, str) and t.count("{}") == 1 for t in templates):
        raise InvalidParameterError(
            f"templates must be strings each with one '{{}}' for the word; got {templates!r}"
        )
    groups = (*test.targets, *test.attributes)
    texts = list(
        dict.fromkeys(s for group in groups for w in group.words for s in sentences(w, templates))
    )
    vectors = np.asarray(encoder.encode(texts, batch_size=batch_size), dtype=np.float32)
    space = WordVectors(texts, vectors)
    expanded = [
        WordSet(g.name, tuple(dict.fromkeys(s for w in g.words for s in sentences(w, templates))))
        for g in groups
    ]
    sentence_test = WeatTest(
        test.name,
        (expanded[0], expanded[1]),
        (expanded[2], expanded[3]),
        f"{test.description} (SEAT: words in {len(templates)} bleached sentence templates)",
        test.origin,
    )
    return weat(
        space,
        sentence_test,
        lowercase=False,
        ddof=ddof,
        permutations=permutations,
        max_exact=max_exact,
        seed=seed,
    )

"""Word-pair similarity: model cosines against human judgements (Spearman, Pearson).

Scored as gensim 4's ``KeyedVectors.evaluate_word_pairs`` does, with typed errors where
gensim would skip a malformed line or let scipy return NaN.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.datasets import default_word_pairs_path
from embedlab.errors import EmbedlabError, FormatError, InvalidParameterError
from embedlab.eval import _correlation as correlation
from embedlab.eval._common import (
    RestrictedVocab,
    iter_lines,
    resolve_path,
    restricted_vocab,
    unit_rows,
)
from embedlab.vectors import WordVectors

__all__ = ["EvaluationError", "WordPairsResult", "evaluate_word_pairs"]


class EvaluationError(EmbedlabError, ValueError):
    """An evaluation that cannot produce a number (too few usable pairs, constant scores)."""


@dataclass(frozen=True)
class WordPairsResult:
    """Correlation between model cosine similarity and human scores on word pairs.

    ``pairs`` is the number of pairs used, ``oov_pairs`` the number skipped because a word
    is outside the restricted vocabulary, and ``oov_ratio = oov_pairs / (pairs + oov_pairs)``
    is a fraction in [0, 1] (gensim logs and returns it in percent: 100 * oov_ratio).
    """

    spearman: float
    spearman_pvalue: float
    pearson: float
    pearson_pvalue: float
    pairs: int
    oov_pairs: int
    oov_ratio: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return {
            "spearman": self.spearman,
            "spearman_pvalue": self.spearman_pvalue,
            "pearson": self.pearson,
            "pearson_pvalue": self.pearson_pvalue,
            "pairs": self.pairs,
            "oov_pairs": self.oov_pairs,
            "oov_ratio": self.oov_ratio,
        }


def evaluate_word_pairs(
    wv: WordVectors,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
    delimiter: str | None = "\t",
) -> WordPairsResult:
    """Spearman and Pearson correlation of ``wv``'s cosines with human pair scores.

    Matches gensim 4's ``KeyedVectors.evaluate_word_pairs``: each data line is
    ``word1<delimiter>word2<delimiter>score``; lines starting with ``#`` are comments and
    blank lines are ignored; only the first ``restrict_vocab`` keys are used, compared
    upper-cased when ``case_insensitive`` (each folded form standing for its most frequent
    key); a pair with a word outside that vocabulary is skipped and counted in
    ``oov_pairs``; correlations and two-sided p-values come from ``scipy.stats``.
    ``delimiter=None`` splits on runs of whitespace.

    Unlike gensim, a line without exactly three fields, or whose score is not a finite
    number, raises FormatError naming the file and line (gensim skips it), and fewer than
    two usable pairs, or constant scores on either side, raise EvaluationError (gensim
    returns NaN). ``path=None`` uses the packaged WordSim-353 (:func:`default_word_pairs_path`).

    Example:
        >>> import numpy as np, pathlib, tempfile
        >>> from embedlab.vectors import WordVectors
        >>> wv = WordVectors(["cat", "dog", "car"], np.array([[1, 0.2], [1, 0.3], [0, 1]]))
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
        >>> _ = f.write_text("cat\\tdog\\t8.5\\ncat\\tcar\\t1.0\\ndog\\tcar\\t1.5\\n")
        >>> result = evaluate_word_pairs(wv, f)
        >>> round(result.spearman, 3), result.pairs, result.oov_ratio
        (1.0, 3, 0.0)
    """
    if delimiter is not None and (not isinstance(delimiter, str) or not delimiter):
        raise InvalidParameterError(
            f"The 'delimiter' parameter must be a non-empty str or None. Got {delimiter!r} instead."
        )
    vocab = restricted_vocab(wv, restrict_vocab, case_insensitive=bool(case_insensitive))
    source = resolve_path(path, default_word_pairs_path, what="word-pairs file")
    first, second, gold, oov = _read_pairs(source, vocab, delimiter)
    if len(gold) < 2:
        raise EvaluationError(
            f"need at least 2 word pairs inside the vocabulary to correlate; got {len(gold)} "
            f"({oov} of {len(gold) + oov} pairs in {source} have a word outside the first "
            f"{vocab.size} keys)"
        )
    unit = unit_rows(wv.vectors[: vocab.size])
    left, right = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    model = np.einsum("ij,ij->i", unit[left], unit[right]).astype(np.float64)
    human = np.asarray(gold, dtype=np.float64)
    for name, values in (("human scores", human), ("model similarities", model)):
        if np.all(values == values[0]):
            raise EvaluationError(
                f"the {name} of all {len(values)} pairs are equal ({values[0]}); "
                "correlation is undefined"
            )

    spearman = correlation.spearman(human, model)
    pearson = correlation.pearson(human, model)
    return WordPairsResult(
        spearman=float(spearman.statistic),
        spearman_pvalue=float(spearman.pvalue),
        pearson=float(pearson.statistic),
        pearson_pvalue=float(pearson.pvalue),
        pairs=len(gold),
        oov_pairs=oov,
        oov_ratio=oov / (len(gold) + oov),
    )


def _read_pairs(
    path: Path, vocab: RestrictedVocab, delimiter: str | None
) -> tuple[list[int], list[int], list[float], int]:
    """Rows of the first and second words, the human scores, and the out-of-vocabulary count."""
    first: list[int] = []
    second: list[int] = []
    gold: list[float] = []
    oov = 0
    for number, line in iter_lines(path):
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(delimiter)]
        if len(fields) != 3 or not fields[0] or not fields[1]:
            raise FormatError(
                f"expected 'word1{_show(delimiter)}word2{_show(delimiter)}score', got {line!r}",
                path=str(path),
                line=number,
            )
        try:
            score = float(fields[2])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise FormatError(
                f"the score must be a finite number, got {fields[2]!r}", path=str(path), line=number
            )
        a, b = vocab.lookup(fields[0]), vocab.lookup(fields[1])
        if a is None or b is None:
            oov += 1
            continue
        first.append(a)
        second.append(b)
        gold.append(score)
    return first, second, gold, oov


def _show(delimiter: str | None) -> str:
    """The delimiter as written in an error message."""
    return " " if delimiter is None else delimiter.encode("unicode_escape").decode("ascii")

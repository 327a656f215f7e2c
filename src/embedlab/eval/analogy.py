"""Word analogies (a:b :: c:d) solved with 3CosAdd or 3CosMul, scored as in gensim 4.

The semantics follow gensim's ``KeyedVectors.evaluate_word_analogies``; the work is
batched: each block of questions is one matrix product against the restricted unit
matrix, the question words are masked out, and the best row is an argmax.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embedlab._validation import StrEnumOption
from embedlab.datasets import default_analogies_path
from embedlab.errors import FormatError
from embedlab.eval._common import (
    RestrictedVocab,
    iter_lines,
    resolve_path,
    restricted_vocab,
    unit_rows,
)
from embedlab.vectors import WordVectors

__all__ = ["AnalogyMethod", "AnalogyResult", "SectionResult", "evaluate_analogies"]

_MUL_EPSILON = 1e-3  # Levy & Goldberg (2014), as in the 3CosMul definition
_SCORES_PER_BATCH = 1 << 25  # float32 cells of one block of scores (128 MiB)
_MAX_BATCH = 1000


class AnalogyMethod(StrEnumOption):
    """How the answer d of a:b :: c:d is chosen: 3CosAdd ("add") or 3CosMul ("mul")."""

    ADD = "add"
    MUL = "mul"


@dataclass(frozen=True)
class SectionResult:
    """Counts for one ``: section`` of an analogy file (accuracy is 0.0 when none answered)."""

    name: str
    correct: int
    answered: int
    skipped: int
    accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return {
            "name": self.name,
            "correct": self.correct,
            "answered": self.answered,
            "skipped": self.skipped,
            "accuracy": self.accuracy,
        }


@dataclass(frozen=True)
class AnalogyResult:
    """Overall and per-section analogy accuracy.

    ``total`` counts every question line; ``answered`` those whose four words are all in
    the restricted vocabulary; ``skipped = total - answered``; ``accuracy`` is
    ``correct / answered`` (0.0 when nothing was answered, as gensim reports it).
    """

    accuracy: float
    correct: int
    answered: int
    skipped: int
    total: int
    sections: tuple[SectionResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (sections as a list of dicts)."""
        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "answered": self.answered,
            "skipped": self.skipped,
            "total": self.total,
            "sections": [s.to_dict() for s in self.sections],
        }


@dataclass
class _Section:
    name: str
    questions: list[tuple[int, int, int, int]]  # row numbers of a, b, c, d
    skipped: int = 0


def evaluate_analogies(
    wv: WordVectors,
    path: str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
    method: str | AnalogyMethod = "add",
) -> AnalogyResult:
    """Accuracy of ``wv`` on an analogy file of ``a b c d`` lines (a:b :: c:d).

    Matches gensim 4's ``KeyedVectors.evaluate_word_analogies``: only the first
    ``restrict_vocab`` keys are used (keys are ordered most frequent first when trained);
    with ``case_insensitive`` keys and question words are compared upper-cased, each
    folded form standing for its most frequent key; a question with any word outside that
    vocabulary is skipped and counted; the prediction is the best candidate among the
    restricted vocabulary other than a, b and c (and their other spellings when
    case-insensitive), and it is correct when it equals d (in the same case folding).

    ``method="add"`` (3CosAdd) ranks candidates x by ``cos(x, b - a + c)`` over unit
    vectors; ``method="mul"`` (3CosMul) by ``cos'(x,b) * cos'(x,c) / (cos'(x,a) + 1e-3)``
    with cosines shifted to [0, 1] as ``(cos + 1) / 2``. Ties go to the more frequent key.

    Lines starting with ``:`` open a section; blank lines are ignored; any other line
    must hold exactly four words, and every question must follow a section header, or a
    FormatError names the file and line. ``path=None`` uses the packaged Google set
    (:func:`default_analogies_path`).

    Example:
        >>> import numpy as np
        >>> from embedlab.vectors import WordVectors
        >>> keys = ["man", "woman", "king", "queen", "apple"]
        >>> vecs = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, -1]])
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "q.txt"
        >>> _ = f.write_text(": royals\\nman woman king queen\\n")
        >>> evaluate_analogies(WordVectors(keys, vecs), f).accuracy
        1.0
    """
    chosen = AnalogyMethod.parse(method, name="method")
    vocab = restricted_vocab(wv, restrict_vocab, case_insensitive=bool(case_insensitive))
    source = resolve_path(path, default_analogies_path, what="analogy file")
    sections = _read_questions(source, vocab)
    if not any(s.questions or s.skipped for s in sections):
        raise FormatError("no analogy questions found", path=str(source))

    unit = unit_rows(wv.vectors[: vocab.size])
    results: list[SectionResult] = []
    for section in sections:
        correct = _count_correct(section.questions, unit, vocab.canonical, chosen)
        answered = len(section.questions)
        results.append(
            SectionResult(
                name=section.name,
                correct=correct,
                answered=answered,
                skipped=section.skipped,
                accuracy=correct / answered if answered else 0.0,
            )
        )
    correct = sum(s.correct for s in results)
    answered = sum(s.answered for s in results)
    skipped = sum(s.skipped for s in results)
    return AnalogyResult(
        accuracy=correct / answered if answered else 0.0,
        correct=correct,
        answered=answered,
        skipped=skipped,
        total=answered + skipped,
        sections=tuple(results),
    )


def _read_questions(path: Path, vocab: RestrictedVocab) -> list[_Section]:
    """Parse the file into sections of in-vocabulary questions (rows), counting the rest."""
    sections: list[_Section] = []
    for number, line in iter_lines(path):
        if line.startswith(":"):
            sections.append(_Section(name=line[1:].strip(), questions=[]))
            continue
        words = line.split()
        if not words:
            continue
        if len(words) != 4:
            raise FormatError(
                f"expected a ': section' header or 4 words 'a b c d'; "
                f"got {len(words)} words: {line!r}",
                path=str(path),
                line=number,
            )
        if not sections:
            raise FormatError(
                "analogy question before the first ': section' header", path=str(path), line=number
            )
        a, b, c, d = (vocab.lookup(word) for word in words)
        if a is None or b is None or c is None or d is None:
            sections[-1].skipped += 1
        else:
            sections[-1].questions.append((a, b, c, d))
    return sections


def _count_correct(
    questions: list[tuple[int, int, int, int]],
    unit: np.ndarray,
    canonical: np.ndarray,
    method: AnalogyMethod,
) -> int:
    """How many questions' best candidate has the same folded form as d."""
    if not questions:
        return 0
    rows = np.asarray(questions, dtype=np.int64)
    extra_spellings = _extra_spellings(canonical)
    cells_per_question = unit.shape[0] * (3 if method is AnalogyMethod.MUL else 1)
    batch = max(1, min(_MAX_BATCH, _SCORES_PER_BATCH // max(cells_per_question, 1)))
    correct = 0
    for start in range(0, len(rows), batch):
        block = rows[start : start + batch]
        scores = _scores(unit, block[:, 0], block[:, 1], block[:, 2], method)
        _mask_question_words(scores, block[:, :3], extra_spellings)
        best = np.argmax(scores, axis=1)
        found = np.isfinite(scores[np.arange(len(block)), best])  # False: every row was masked
        correct += int(np.count_nonzero(found & (canonical[best] == block[:, 3])))
    return correct


def _scores(
    unit: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, method: AnalogyMethod
) -> np.ndarray:
    """(questions, vocabulary) float32 scores of every candidate row."""
    if method is AnalogyMethod.ADD:
        target = unit[b] - unit[a] + unit[c]
        return target @ unit.T  # type: ignore[no-any-return]
    n = len(a)
    cosines = np.concatenate([unit[a], unit[b], unit[c]]) @ unit.T
    cosines += 1.0
    cosines *= 0.5
    cos_a, cos_b, cos_c = cosines[:n], cosines[n : 2 * n], cosines[2 * n :]
    cos_b *= cos_c
    cos_a += _MUL_EPSILON
    cos_b /= cos_a
    return cos_b  # type: ignore[no-any-return]


def _extra_spellings(canonical: np.ndarray) -> dict[int, np.ndarray]:
    """For folded forms with several keys: canonical row -> the other rows spelled so."""
    others = np.flatnonzero(canonical != np.arange(len(canonical)))
    groups: dict[int, list[int]] = {}
    for row in others.tolist():
        groups.setdefault(int(canonical[row]), []).append(row)
    return {key: np.asarray(value, dtype=np.int64) for key, value in groups.items()}


def _mask_question_words(
    scores: np.ndarray, words: np.ndarray, extra_spellings: dict[int, np.ndarray]
) -> None:
    """Set the scores of a, b, c (and their other spellings) to -inf, in place."""
    n = scores.shape[0]
    question = np.repeat(np.arange(n), words.shape[1])
    column = words.reshape(-1)
    scores[question, column] = -np.inf
    if extra_spellings:
        for q, row in zip(question.tolist(), column.tolist(), strict=True):
            spelled = extra_spellings.get(row)
            if spelled is not None:
                scores[q, spelled] = -np.inf

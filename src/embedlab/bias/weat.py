"""WEAT, the Word Embedding Association Test (Caliskan, Bryson and Narayanan, Science 2017).

For target sets X, Y and attribute sets A, B of word vectors:

- ``s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)``: how much nearer w is to A than B;
- the statistic ``s(X, Y, A, B) = sum_x s(x, A, B) - sum_y s(y, A, B)``;
- the effect size ``d = (mean_x s(x, A, B) - mean_y s(y, A, B)) / std_{w in X ∪ Y} s(w, A, B)``
  with the sample standard deviation (``ddof=1``, as Caliskan et al.'s Cohen's d; pass
  ``ddof=0`` for the population one);
- the one-sided p-value: the share of the re-partitions (X_i, Y_i) of X ∪ Y into sets of
  the sizes of X and Y whose statistic is at least the observed one (ties count, the
  observed partition included). When there are at most ``max_exact`` (100,000) such
  partitions all are enumerated ("exact"); otherwise ``permutations`` random ones are
  drawn with ``seed`` and p = (hits + 1) / (permutations + 1) ("sampled", never 0).
  A statistic within 1e-10 (relative) of the observed one counts as a tie.
- When every ``s(w, A, B)`` is the same (up to 1e-10), there is no spread to scale by and
  the effect size is 0.

X and Y may differ in size (words missing from the vocabulary make them so); the
partitions then keep the two sizes.

Example:
    >>> import numpy as np
    >>> x, y = np.array([[1.0, 0.1], [1.0, 0.2]]), np.array([[0.1, 1.0], [0.2, 1.0]])
    >>> a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    >>> r = weat_scores(x, y, a, b)
    >>> r.p_method, r.partitions, round(r.p_value, 3)
    ('exact', 6, 0.167)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.bias.source import as_word_vectors, find_key
from embedlab.bias.wordsets import WeatTest, WordSet
from embedlab.errors import DimensionMismatchError, InvalidParameterError, MissingWordsError
from embedlab.vectors import WordVectors

__all__ = [
    "DEFAULT_PERMUTATIONS",
    "MAX_EXACT_PARTITIONS",
    "WeatResult",
    "WeatScores",
    "association",
    "weat",
    "weat_scores",
]

MAX_EXACT_PARTITIONS = 100_000
DEFAULT_PERMUTATIONS = 100_000
_TIE = 1e-10  # relative tolerance for a partition's statistic to count as a tie
_CHUNK = 8192  # partitions scored per numpy step


@dataclass(frozen=True)
class WeatScores:
    """The numbers of one WEAT: statistic, effect size and p-value, and how p was found."""

    statistic: float
    effect_size: float
    p_value: float
    p_method: str  # "exact" or "sampled"
    partitions: int  # how many partitions p was computed over
    total_partitions: int  # C(|X| + |Y|, |X|)
    ddof: int
    seed: int | None


def _unit(rows: npt.ArrayLike, what: str) -> np.ndarray:
    out = np.asarray(rows, dtype=np.float64)
    if out.ndim != 2 or out.shape[0] == 0:
        raise DimensionMismatchError(f"{what} must be a non-empty 2-D array; got {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    result: np.ndarray = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return result


def association(w: npt.ArrayLike, a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """``s(w, A, B)`` for each row w: mean cosine to A minus mean cosine to B (float64).

    Example:
        >>> association([[1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]]).tolist()
        [1.0]
    """
    wu, au, bu = _unit(w, "w"), _unit(a, "A"), _unit(b, "B")
    if not wu.shape[1] == au.shape[1] == bu.shape[1]:
        raise DimensionMismatchError(
            f"dimensions differ: w {wu.shape[1]}, A {au.shape[1]}, B {bu.shape[1]}"
        )
    out: np.ndarray = (wu @ au.T).mean(axis=1) - (wu @ bu.T).mean(axis=1)
    return out


def weat_scores(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    ddof: int = 1,
    permutations: int = DEFAULT_PERMUTATIONS,
    max_exact: int = MAX_EXACT_PARTITIONS,
    seed: int = 0,
) -> WeatScores:
    """WEAT statistic, effect size and one-sided p-value of vector sets X, Y, A, B.

    See the module docstring for the definitions and the p-value's two methods.

    Example:
        >>> import numpy as np
        >>> x, y = np.array([[1.0, 0.1], [1.0, 0.2]]), np.array([[0.1, 1.0], [0.2, 1.0]])
        >>> r = weat_scores(x, y, [[1.0, 0.0]], [[0.0, 1.0]])
        >>> r.effect_size > 1.0
        True
    """
    ddof = check_int("ddof", ddof, minimum=0, maximum=1)
    permutations = check_int("permutations", permutations, minimum=1, maximum=10_000_000)
    max_exact = check_int("max_exact", max_exact, minimum=0)
    s_x = association(x, a, b)
    s_y = association(y, a, b)
    nx, ny = len(s_x), len(s_y)
    if nx + ny < 3:
        raise InvalidParameterError(
            f"WEAT needs at least 3 target words in all (X and Y); got {nx} + {ny}"
        )
    scores = np.concatenate([s_x, s_y])
    statistic = float(s_x.sum() - s_y.sum())
    std = float(np.std(scores, ddof=ddof))
    diff = float(s_x.mean() - s_y.mean())
    # No spread (every s(w, A, B) equal up to rounding): no association to size, d = 0.
    flat = std <= _TIE * max(1.0, float(np.abs(scores).max()))
    effect = 0.0 if flat else diff / std
    total = math.comb(nx + ny, nx)
    observed = float(s_x.sum())  # a partition's statistic grows with its X-sum
    tie = _TIE * max(1.0, float(np.abs(scores).sum()))
    if total <= max_exact:
        hits = _exact_hits(scores, nx, observed - tie)
        p, method, count, used_seed = hits / total, "exact", total, None
    else:
        hits = _sampled_hits(scores, nx, observed - tie, permutations, seed)
        p, method, count, used_seed = (hits + 1) / (permutations + 1), "sampled", permutations, seed
    return WeatScores(statistic, effect, p, method, count, total, ddof, used_seed)


def _exact_hits(scores: np.ndarray, nx: int, threshold: float) -> int:
    """Partitions (all of them) whose X-sum reaches threshold."""
    combos = itertools.combinations(range(len(scores)), nx)
    hits = 0
    while True:
        block = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(combos, _CHUNK)), dtype=np.int64
        )
        if block.size == 0:
            return hits
        hits += int(np.count_nonzero(scores[block.reshape(-1, nx)].sum(axis=1) >= threshold))


def _sampled_hits(scores: np.ndarray, nx: int, threshold: float, n: int, seed: int) -> int:
    """Random partitions (n of them, seeded) whose X-sum reaches threshold."""
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < n:
        m = min(_CHUNK, n - done)
        order = rng.permuted(np.tile(np.arange(len(scores)), (m, 1)), axis=1)[:, :nx]
        hits += int(np.count_nonzero(scores[order].sum(axis=1) >= threshold))
        done += m
    return hits


@dataclass(frozen=True)
class WeatResult:
    """A WEAT on one model: the scores, the words used and missing, and how to read it."""

    test: str
    description: str
    targets: tuple[str, str]
    attributes: tuple[str, str]
    scores: WeatScores
    used: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def effect_size(self) -> float:
        return self.scores.effect_size

    @property
    def p_value(self) -> float:
        return self.scores.p_value

    @property
    def statistic(self) -> float:
        return self.scores.statistic

    def describe(self) -> str:
        """What was measured and how to read it, in plain words."""
        (x, y), (a, b), s = self.targets, self.attributes, self.scores
        if s.p_method == "exact":
            how = f"exact, over all {s.total_partitions:,} re-partitions of the target words"
        else:
            how = (
                f"sampled, {s.partitions:,} random re-partitions (seed {s.seed}) of "
                f"{s.total_partitions:.3g} possible"
            )
        size = abs(s.effect_size)
        strength = (
            "large"
            if size >= 0.8
            else "medium"
            if size >= 0.5
            else "small"
            if size >= 0.2
            else "negligible"
        )
        if s.effect_size >= 0:
            reading = f"positive: '{x}' leans to '{a}' and '{y}' to '{b}'"
        else:
            reading = f"negative: the other way, '{y}' leans to '{a}' and '{x}' to '{b}'"
        lines = [
            f"WEAT {self.test}: {self.description}".rstrip(": "),
            f"Measured: whether '{x}' words sit nearer (cosine) to '{a}' than to '{b}' words, "
            f"compared with '{y}' words.",
            f"Effect size d = {s.effect_size:+.3f} ({strength}; Cohen's d with ddof={s.ddof}, "
            f"between -2 and +2); {reading}.",
            f"One-sided p = {s.p_value:.4g} ({how}): the share of random splits of the target "
            "words that show an association at least this strong; small p means the "
            "association is unlikely to be chance.",
            f"Statistic s(X,Y,A,B) = {s.statistic:.4f}.",
        ]
        gone = {k: v for k, v in self.missing.items() if v}
        if gone:
            lines.append(
                "Missing from the vocabulary (left out): "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in gone.items())
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the result (with the plain-words description)."""
        return {
            "test": self.test,
            "description": self.description,
            "targets": list(self.targets),
            "attributes": list(self.attributes),
            "statistic": self.scores.statistic,
            "effect_size": self.scores.effect_size,
            "p_value": self.scores.p_value,
            "p_method": self.scores.p_method,
            "partitions": self.scores.partitions,
            "total_partitions": self.scores.total_partitions,
            "ddof": self.scores.ddof,
            "seed": self.scores.seed,
            "used": {k: list(v) for k, v in self.used.items()},
            "missing": {k: list(v) for k, v in self.missing.items()},
            "explanation": self.describe(),
        }


def weat(
    source: object,
    test: WeatTest,
    *,
    lowercase: bool = True,
    min_words: int | None = None,
    ddof: int = 1,
    permutations: int = DEFAULT_PERMUTATIONS,
    max_exact: int = MAX_EXACT_PARTITIONS,
    seed: int = 0,
) -> WeatResult:
    """Run a WEAT test on any source of vectors (model, collection, keys with an array).

    A word missing from the vocabulary (tried as written, then in lower case when
    ``lowercase``) is left out and reported in ``missing``. Each set must keep at least
    ``min_words`` words (default: half the set, rounded up, and at least 2), else
    :class:`~embedlab.errors.MissingWordsError` lists the missing words of every set.

    Example:
        >>> import numpy as np
        >>> from embedlab.bias.wordsets import WordSet, WeatTest
        >>> sets = [WordSet(n, (n + "1", n + "2")) for n in ("x", "y", "a", "b")]
        >>> vecs = {"x1": [1, .1], "x2": [1, .2], "y1": [.1, 1], "y2": [.2, 1],
        ...         "a1": [1, 0], "a2": [1, .05], "b1": [0, 1], "b2": [.05, 1]}
        >>> r = weat(vecs, WeatTest("toy", (sets[0], sets[1]), (sets[2], sets[3])))
        >>> r.effect_size > 1, r.scores.p_method
        (True, 'exact')
    """
    groups = (*test.targets, *test.attributes)
    wv = as_word_vectors(source, [w for g in groups for w in g.words])
    found: list[list[str]] = []
    missing: dict[str, tuple[str, ...]] = {}
    used: dict[str, tuple[str, ...]] = {}
    for group in groups:
        keys = [find_key(wv, w, lowercase=lowercase) for w in group.words]
        found.append([k for k in keys if k is not None])
        missing[group.name] = tuple(w for w, k in zip(group.words, keys, strict=True) if k is None)
        used[group.name] = tuple(k for k in keys if k is not None)
    _check_enough(groups, found, missing, min_words)
    x, y, a, b = (_rows(wv, keys) for keys in found)
    scores = weat_scores(
        x, y, a, b, ddof=ddof, permutations=permutations, max_exact=max_exact, seed=seed
    )
    return WeatResult(
        test=test.name,
        description=test.description,
        targets=(test.targets[0].name, test.targets[1].name),
        attributes=(test.attributes[0].name, test.attributes[1].name),
        scores=scores,
        used=used,
        missing=missing,
    )


def _rows(wv: WordVectors, keys: list[str]) -> np.ndarray:
    return wv.vectors[[wv.get_index(k) for k in keys]]


def _check_enough(
    groups: tuple[WordSet, ...],
    found: list[list[str]],
    missing: dict[str, tuple[str, ...]],
    min_words: int | None,
) -> None:
    """Refuse (naming every missing word) when a set keeps fewer than its minimum."""
    if min_words is not None:
        min_words = check_int("min_words", min_words, minimum=1)
    short = []
    need = 0
    for group, keys in zip(groups, found, strict=True):
        need = min_words if min_words is not None else max(2, math.ceil(len(group.words) / 2))
        if len(keys) < need:
            short.append(f"{group.name!r} has {len(keys)} of {len(group.words)} (needs {need})")
    if short:
        listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in missing.items() if v)
        rule = (
            f"at least {min_words} words"
            if min_words is not None
            else "at least half its words and at least 2"
        )
        raise MissingWordsError(
            f"too few words in the vocabulary: {', '.join(short)}; each set needs {rule}. "
            f"Missing: {listing}",
            missing={k: v for k, v in missing.items() if v},
            minimum=need,
        )

"""What projection-based debiasing hides (Gonen and Goldberg 2019, "Lipstick on a Pig").

Take the ``n`` words (per side) that projected most strongly on the bias direction in
the ORIGINAL vectors, labelled by the sign of that projection. Then, in the original and
in the debiased vectors, measure how well those labels can still be recovered without
the direction:

- *cluster accuracy*: 2-means on the unit vectors (seeded, k-means++ start, best of 10
  starts by inertia), accuracy of the clusters against the labels (the better of the two
  matchings; 0.5 is chance);
- *classification accuracy*: a 5-nearest-neighbour (cosine) classifier, 5-fold
  cross-validated over the labelled words (0.5 is chance);
- the mean |cos(w, direction)| of those words, to show the projection is gone.

High accuracies after debiasing mean the bias is still there, only no longer along the
direction: a zero projection does not make a model fair.

Example:
    >>> import numpy as np
    >>> from embedlab.vectors import WordVectors
    >>> rng = np.random.default_rng(0)
    >>> keys = [f"w{i}" for i in range(40)]
    >>> wv = WordVectors(keys, rng.normal(size=(40, 8)))
    >>> report = hidden_bias(wv, wv, np.eye(8)[0], n=10)
    >>> report.words, 0.0 <= report.after.cluster_accuracy <= 1.0
    (20, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from embedlab._validation import check_int
from embedlab.bias.direction import BiasDirection
from embedlab.bias.source import as_word_vectors
from embedlab.errors import DimensionMismatchError, InvalidParameterError
from embedlab.vectors import WordVectors

__all__ = ["HiddenBiasReport", "SpaceScores", "hidden_bias"]


@dataclass(frozen=True)
class SpaceScores:
    """How well one space still separates the formerly most biased words."""

    cluster_accuracy: float
    classification_accuracy: float
    mean_abs_projection: float


@dataclass(frozen=True)
class HiddenBiasReport:
    """The same checks on the original and the debiased vectors."""

    words: int
    before: SpaceScores
    after: SpaceScores
    examples: tuple[tuple[str, ...], tuple[str, ...]]

    def describe(self) -> str:
        """What was measured and how to read it, in plain words."""
        b, a = self.before, self.after
        return (
            f"Hidden bias (Gonen and Goldberg 2019): the {self.words} words that leaned most "
            f"to either side of the bias direction before debiasing (e.g. "
            f"{', '.join(self.examples[0][:3])} | {', '.join(self.examples[1][:3])}). "
            f"Their mean |projection| on the direction went {b.mean_abs_projection:.3f} -> "
            f"{a.mean_abs_projection:.3f}, yet 2-means still splits them by their former "
            f"side with accuracy {b.cluster_accuracy:.3f} -> {a.cluster_accuracy:.3f}, and a "
            f"5-NN classifier recovers it with accuracy {b.classification_accuracy:.3f} -> "
            f"{a.classification_accuracy:.3f} (0.5 is chance). Accuracies well above 0.5 "
            "after debiasing mean the bias is hidden from the direction, not removed."
        )


def hidden_bias(
    original: object,
    debiased: object,
    direction: BiasDirection | np.ndarray,
    *,
    n: int = 500,
    restrict: int = 50_000,
    exclude: Iterable[str] = (),
    seed: int = 0,
) -> HiddenBiasReport:
    """Gonen and Goldberg's checks of the ``n`` most biased words per side (see module doc).

    Candidates are the first ``restrict`` keys of ``original`` (the most frequent, for a
    trained model) minus ``exclude`` (say, gender-specific words); they must also be keys
    of ``debiased``.

    Example:
        >>> import numpy as np
        >>> wv = {f"w{i}": [i - 19.5, 1.0] for i in range(40)}
        >>> hidden_bias(wv, wv, np.array([1.0, 0.0]), n=10).before.classification_accuracy
        1.0
    """
    n = check_int("n", n, minimum=2)
    restrict = check_int("restrict", restrict, minimum=2)
    before, after = as_word_vectors(original), as_word_vectors(debiased)
    g = np.asarray(direction.vector if isinstance(direction, BiasDirection) else direction)
    if g.shape != (before.dim,):
        raise DimensionMismatchError(
            f"the bias direction must have the model's {before.dim} dimensions; got {g.shape}"
        )
    g = g.astype(np.float64) / np.linalg.norm(g)
    skip = {w.lower() for w in exclude}
    rows = [i for i, k in enumerate(before.keys[:restrict]) if k.lower() not in skip and k in after]
    if len(rows) < 2 * n:
        raise InvalidParameterError(
            f"hidden_bias needs 2 x n = {2 * n} candidate words; the vocabulary offers "
            f"{len(rows)} (lower n)"
        )
    projection = before.unit_vectors[rows] @ g
    order = np.argsort(projection, kind="stable")
    chosen = np.concatenate([order[-n:][::-1], order[:n]])
    labels = np.array([1] * n + [0] * n)
    keys = [before.keys[rows[i]] for i in chosen]
    rng_seed = check_int("seed", seed, minimum=0)
    return HiddenBiasReport(
        words=2 * n,
        before=_scores(before, keys, labels, g, rng_seed),
        after=_scores(after, keys, labels, g, rng_seed),
        examples=(tuple(keys[:5]), tuple(keys[n : n + 5])),
    )


def _scores(
    wv: WordVectors, keys: list[str], labels: np.ndarray, g: np.ndarray, seed: int
) -> SpaceScores:
    x = wv.unit_vectors[[wv.get_index(k) for k in keys]].astype(np.float64)
    return SpaceScores(
        cluster_accuracy=_two_means_accuracy(x, labels, seed),
        classification_accuracy=_knn_accuracy(x, labels, seed),
        mean_abs_projection=float(np.mean(np.abs(x @ g))),
    )


def _two_means_accuracy(x: np.ndarray, labels: np.ndarray, seed: int, starts: int = 10) -> float:
    """Accuracy of the best (least inertia) of ``starts`` seeded 2-means runs."""
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(starts):
        first = x[rng.integers(len(x))]
        far = ((x - first) ** 2).sum(axis=1)
        second = x[rng.choice(len(x), p=far / far.sum())] if far.sum() > 0 else x[0]
        centres = np.array([first, second])
        assign = np.zeros(len(x), np.int64)
        for _ in range(100):
            dist = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
            new = dist.argmin(axis=1)
            if _ > 0 and np.array_equal(new, assign):
                break
            assign = new
            for c in (0, 1):
                if np.any(assign == c):
                    centres[c] = x[assign == c].mean(axis=0)
        inertia = float(((x - centres[assign]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, assign)
    if best is None:  # pragma: no cover - starts >= 1
        raise RuntimeError("no 2-means run")
    agree = float(np.mean(best[1] == labels))
    return max(agree, 1.0 - agree)


def _knn_accuracy(x: np.ndarray, labels: np.ndarray, seed: int, k: int = 5) -> float:
    """5-fold cross-validated accuracy of a k-NN (cosine, majority) classifier."""
    rng = np.random.default_rng(seed)
    folds = rng.permutation(len(x)) % 5
    correct = 0
    for fold in range(5):
        test, train = folds == fold, folds != fold
        sims = x[test] @ x[train].T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        votes = labels[train][top].mean(axis=1)
        predicted = (votes > 0.5).astype(np.int64)
        correct += int(np.sum(predicted == labels[test]))
    return correct / len(x)

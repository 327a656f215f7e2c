"""Recommendation from baskets: item2vec, user profiles, and a held-out-item evaluation.

item2vec (Barkan & Koenigstein 2016) is skip-gram with negative sampling over baskets:
each basket is a "sentence" of item ids, with a window as wide as the longest basket so
every pair in a basket co-occurs. It runs on :class:`~embedlab.train.Word2Vec` (items are
renamed to plain tokens first, so any id survives the tokenizer), with the negative
sampling exponent exposed (``ns_exponent``), as recommender work tunes it.

Two ways to rank a user's unseen items:

- :func:`vector_ranker` (and :func:`recommend` on a ``WordVectors``): the items nearest
  the profile (the mean of the user's items' unit input vectors) by cosine. It ignores
  how common an item is.
- :func:`context_ranker` (and :func:`recommend` on an :class:`ItemModel`, which
  :func:`item2vec_model` returns): skip-gram's own prediction. The score of item ``c`` is
  the mean input vector of the user's items dotted with ``c``'s output (context) vector,
  which estimates ``PMI(seen, c)`` up to a constant, plus ``prior * log count(c)``, which
  turns it towards ``log P(c | seen)``. On Debian's Depends baskets this ranks the held-out
  dependency far better than the cosine (benchmarks/RESULTS.md).

:func:`evaluate` holds out one item of every basket of two or more, ranks for the rest,
and reports hit-rate@k and nDCG@k (one relevant item: ``1 / log2(rank + 1)``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_float, check_int
from embedlab.analysis._source import unit_rows
from embedlab.errors import CorpusError, FormatError, InvalidParameterError, MissingFileError
from embedlab.vectors import Neighbor, WordVectors

__all__ = [
    "PRIOR",
    "Holdout",
    "ItemModel",
    "RecommendEvaluation",
    "context_ranker",
    "evaluate",
    "holdout_split",
    "item2vec",
    "item2vec_model",
    "popularity_ranker",
    "profile",
    "recommend",
    "vector_ranker",
]

PRIOR = 0.5
"""The default weight of log count in :func:`context_ranker` (tuned on a dev split)."""

CONTEXT_FILE = "output_vectors.npy"

Ranker = Callable[[Sequence[Sequence[str]], int], list[list[str]]]
"""Given users' seen items and k, each user's top-k unseen items."""


@dataclass(frozen=True)
class ItemModel:
    """item2vec's two tables: ``vectors`` (input vectors, with counts) and ``context``
    (the output vectors skip-gram scored contexts with; row ``i`` is ``vectors.keys[i]``)."""

    vectors: WordVectors
    context: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.vectors)

    def save(self, path: str | os.PathLike[str]) -> None:
        """A model folder (the input vectors) with the output vectors beside them, in
        ``output_vectors.npy`` (as a saved Word2Vec keeps them).

        Example:
            >>> model.save("items")  # doctest: +SKIP
        """
        self.vectors.save(path)
        np.save(Path(path) / CONTEXT_FILE, self.context, allow_pickle=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ItemModel:
        """Read a folder written by :meth:`save`.

        Example:
            >>> model = ItemModel.load("items")  # doctest: +SKIP
        """
        from embedlab.io import load_folder

        output = Path(path) / CONTEXT_FILE
        if not output.is_file():
            raise MissingFileError(f"no {CONTEXT_FILE} in {path}: not an item2vec model folder")
        vectors = load_folder(path)
        context = np.load(output, allow_pickle=False)
        if context.shape != vectors.vectors.shape:
            raise FormatError(
                f"{CONTEXT_FILE} has shape {context.shape}; the vectors have "
                f"{vectors.vectors.shape}",
                path=os.fspath(output),
            )
        return cls(vectors, np.ascontiguousarray(context, dtype=np.float32))


def item2vec(
    baskets: Iterable[Sequence[str]],
    *,
    dim: int = 64,
    epochs: int = 20,
    negative: int = 5,
    ns_exponent: float = 0.75,
    window: int | None = None,
    min_count: int = 1,
    sample: float = 0.0,
    alpha: float = 0.025,
    threads: int = 1,
    seed: int = 1,
) -> WordVectors:
    """Item vectors by skip-gram with negative sampling over baskets (lists of item ids).

    The input vectors of :func:`item2vec_model` (same parameters); keep the model to rank
    with the output vectors too (:func:`context_ranker`).

    Example:
        >>> baskets = [["tea", "milk"], ["milk", "tea", "sugar"], ["beer", "chips"]] * 30
        >>> wv = item2vec(baskets, dim=8, epochs=5)
        >>> sorted(wv.keys)
        ['beer', 'chips', 'milk', 'sugar', 'tea']
    """
    return item2vec_model(
        baskets, dim=dim, epochs=epochs, negative=negative, ns_exponent=ns_exponent,
        window=window, min_count=min_count, sample=sample, alpha=alpha, threads=threads,
        seed=seed,
    ).vectors  # fmt: skip


def item2vec_model(
    baskets: Iterable[Sequence[str]],
    *,
    dim: int = 64,
    epochs: int = 20,
    negative: int = 5,
    ns_exponent: float = 0.75,
    window: int | None = None,
    min_count: int = 1,
    sample: float = 0.0,
    alpha: float = 0.025,
    threads: int = 1,
    seed: int = 1,
) -> ItemModel:
    """Skip-gram with negative sampling over baskets: input and output item vectors.

    The window defaults to the longest basket, so every pair in a basket is a context
    pair (a basket has no order).

    Example:
        >>> baskets = [["tea", "milk"], ["milk", "tea", "sugar"], ["beer", "chips"]] * 30
        >>> model = item2vec_model(baskets, dim=8, epochs=5)
        >>> len(model), model.context.shape
        (5, (5, 8))
    """
    items: dict[str, int] = {}
    lines = []
    longest = 0
    for basket in baskets:
        if isinstance(basket, str):
            raise InvalidParameterError(
                f"each basket must be a list of item ids, got the string {basket[:40]!r}"
            )
        ids = [items.setdefault(str(item), len(items)) for item in basket]
        longest = max(longest, len(ids))
        lines.append(" ".join(f"i{i}" for i in ids))
    if longest < 2:
        raise CorpusError("item2vec needs at least one basket of two or more items")
    from embedlab.train import Word2Vec

    trainer = Word2Vec(
        dim=dim, window=window or longest, min_count=min_count, negative=negative,
        ns_exponent=ns_exponent, sample=sample, sg=True, alpha=alpha, epochs=epochs,
        threads=threads, seed=seed,
    )  # fmt: skip
    tokens = trainer.train(lines)
    names = list(items)
    keys = [names[int(token[1:])] for token in tokens.keys]
    vectors = WordVectors(keys, tokens.vectors, counts=tokens.counts)
    context = np.ascontiguousarray(trainer.output_vectors, dtype=np.float32)
    return ItemModel(vectors, context)


def profile(vectors: WordVectors, items: Iterable[str]) -> npt.NDArray[np.float32]:
    """A user's vector: the mean of their known items' unit vectors (unknown ones skipped).

    Example:
        >>> wv = WordVectors(["a", "b"], np.array([[2.0, 0.0], [0.0, 1.0]]))
        >>> profile(wv, ["a", "b", "zzz"]).tolist()
        [0.5, 0.5]
    """
    rows = [vectors.get_index(i) for i in items if i in vectors]
    if not rows:
        raise InvalidParameterError("none of these items has a vector; cannot build a profile")
    return np.asarray(vectors.unit_vectors[rows].mean(axis=0), dtype=np.float32)


def recommend(
    model: WordVectors | ItemModel, items: Sequence[str], k: int = 10, *, prior: float = PRIOR
) -> list[Neighbor]:
    """The k best unseen items for a user who has ``items``.

    On ``WordVectors``: the items nearest the profile by cosine (the score). On an
    :class:`ItemModel`: skip-gram's score, profile dot output vector plus
    ``prior * log count`` (:func:`context_ranker`).

    Example:
        >>> wv = WordVectors(["a", "b", "c"], np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
        >>> [n.key for n in recommend(wv, ["a"], k=1)]
        ['b']
    """
    k = check_int("k", k)
    vectors = model.vectors if isinstance(model, ItemModel) else model
    profile(vectors, items)  # a typed error when no item is known
    if isinstance(model, ItemModel):
        table, bias = model.context, _log_counts(model.vectors, prior)
        p = _profiles(vectors, [items], vectors.vectors)[0]
    else:
        table, bias = vectors.unit_vectors, None
        p = unit_rows(_profiles(vectors, [items], vectors.unit_vectors))[0]
    scores = table @ p + (0.0 if bias is None else bias)
    ranked = _top(vectors, [items], scores[None, :], k)[0]
    return [Neighbor(key, float(scores[vectors.get_index(key)])) for key in ranked]


def vector_ranker(vectors: WordVectors, block: int = 1024) -> Ranker:
    """A ranker over item vectors: each user's profile against every item by cosine."""
    unit = vectors.unit_vectors

    def rank(users: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        out: list[list[str]] = []
        for start in range(0, len(users), block):
            chunk = users[start : start + block]
            out += _top(vectors, chunk, _profiles(vectors, chunk, unit) @ unit.T, k)
        return out

    return rank


def context_ranker(model: ItemModel, *, prior: float = PRIOR, block: int = 1024) -> Ranker:
    """A ranker with skip-gram's own score: ``profile @ context[c] + prior * log count(c)``.

    The profile is the mean of the user's items' input vectors (as trained, not
    normalised); ``context`` holds the output vectors, so the dot product is the mean of
    the logits SGNS trained (each estimates the pair's PMI, shifted), and the log count
    adds the item's frequency (``prior=0``: none).

    Example:
        >>> baskets = [["tea", "milk"], ["milk", "tea", "sugar"], ["beer", "chips"]] * 30
        >>> rank = context_ranker(item2vec_model(baskets, dim=8, epochs=5))
        >>> rank([["tea", "milk"]], 1)
        [['sugar']]
    """
    prior = check_float("prior", prior, minimum=0.0)
    vectors = model.vectors
    bias = _log_counts(vectors, prior)

    def rank(users: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        out: list[list[str]] = []
        for start in range(0, len(users), block):
            chunk = users[start : start + block]
            scores = _profiles(vectors, chunk, vectors.vectors) @ model.context.T + bias
            out += _top(vectors, chunk, scores, k)
        return out

    return rank


def _log_counts(vectors: WordVectors, prior: float) -> npt.NDArray[np.float32]:
    if vectors.counts is None or prior == 0:
        return np.zeros(len(vectors), dtype=np.float32)
    return np.asarray(prior * np.log(np.maximum(vectors.counts, 1)), dtype=np.float32)


def _profiles(
    vectors: WordVectors, users: Sequence[Sequence[str]], table: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """One row per user: the mean row of ``table`` over their known items (zeros if none)."""
    profiles = np.zeros((len(users), table.shape[1]), dtype=np.float32)
    for r, seen in enumerate(users):
        rows = [vectors.get_index(i) for i in seen if i in vectors]
        if rows:
            profiles[r] = table[rows].mean(axis=0)
    return profiles


def _top(
    vectors: WordVectors,
    users: Sequence[Sequence[str]],
    scores: npt.NDArray[np.float32],
    k: int,
) -> list[list[str]]:
    """Each row's k best items by score, the user's own items excluded (scores changed)."""
    for r, seen in enumerate(users):
        for i in seen:
            if i in vectors:
                scores[r, vectors.get_index(i)] = -np.inf
    top = min(k, scores.shape[1])
    best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    out = []
    for r in range(len(users)):
        order = best[r][np.argsort(-scores[r, best[r]], kind="stable")]
        out.append([vectors.keys[j] for j in order if np.isfinite(scores[r, j])])
    return out


def popularity_ranker(baskets: Iterable[Sequence[str]]) -> Ranker:
    """The baseline: the most frequent items overall, the user's own excluded."""
    counts = Counter(str(i) for basket in baskets for i in basket)
    ranked = [item for item, _ in counts.most_common()]

    def rank(users: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        out = []
        for seen in users:
            skip = set(seen)
            out.append([i for i in ranked[: k + len(skip)] if i not in skip][:k])
        return out

    return rank


@dataclass(frozen=True)
class Holdout:
    """Baskets with one item held out each (``users[i]`` kept, ``held[i]`` hidden)."""

    users: tuple[tuple[str, ...], ...]
    held: tuple[str, ...]
    train: tuple[tuple[str, ...], ...]


def holdout_split(baskets: Iterable[Sequence[str]], *, seed: int = 0) -> Holdout:
    """Hide one random item of every basket with two or more distinct items.

    ``train`` is every basket with its held item removed (baskets of one item kept whole).

    Example:
        >>> h = holdout_split([["a", "b"], ["c"]], seed=0)
        >>> len(h.users), len(h.train), sorted(h.users[0] + (h.held[0],))
        (1, 2, ['a', 'b'])
    """
    rng = np.random.default_rng(seed)
    users, held, train = [], [], []
    for basket in baskets:
        items = tuple(dict.fromkeys(str(i) for i in basket))
        if len(items) < 2:
            train.append(items)
            continue
        hide = int(rng.integers(len(items)))
        kept = items[:hide] + items[hide + 1 :]
        users.append(kept)
        held.append(items[hide])
        train.append(kept)
    if not users:
        raise InvalidParameterError("a held-out evaluation needs baskets of two or more items")
    return Holdout(tuple(users), tuple(held), tuple(train))


@dataclass(frozen=True)
class RecommendEvaluation:
    """Hit-rate@k and nDCG@k over the users with a held-out item."""

    k: int
    hit_rate: float
    ndcg: float
    users: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def evaluate(ranker: Ranker, holdout: Holdout, k: int = 10) -> RecommendEvaluation:
    """Rank k items for each user and score the hidden item's rank.

    Example:
        >>> h = holdout_split([["a", "b"], ["a", "b"], ["a", "c"]], seed=1)
        >>> evaluate(popularity_ranker(h.train), h, k=1).users
        3
    """
    k = check_int("k", k)
    started = time.perf_counter()
    ranked = ranker(holdout.users, k)
    hits, gains = 0, 0.0
    for items, target in zip(ranked, holdout.held, strict=True):
        if target in items[:k]:
            rank = items.index(target) + 1
            hits += 1
            gains += 1.0 / float(np.log2(rank + 1))
    n = len(holdout.users)
    return RecommendEvaluation(k, hits / n, gains / n, n, time.perf_counter() - started)

"""WordVectors: keys ↔ rows of one float32 matrix, with counts when known.

Besides the mapping itself, WordVectors answers the questions people ask of static word
embeddings (nearest neighbours, analogies, the odd one out) by exact search over the
matrix, and saves and loads through :mod:`embedlab.io`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import EllipsisType
from typing import Any, NamedTuple, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from embedlab._gensim_habits import GensimHabits, resolve_topn
from embedlab._validation import StrEnumOption, check_int
from embedlab.errors import DimensionMismatchError, InvalidParameterError, UnknownKeyError
from embedlab.metrics import Metric, normalize, pairwise, top_k

__all__ = ["AnalogyMethod", "Neighbor", "WordVectors"]

# A query term: a key, or a raw vector of the model's dimension.
Term: TypeAlias = "str | npt.NDArray[Any]"
Terms: TypeAlias = "str | npt.NDArray[Any] | Sequence[str | npt.NDArray[Any]]"
PathLike: TypeAlias = "str | os.PathLike[str]"


class Neighbor(NamedTuple):
    """One search result: a key and its score (a similarity, or a distance).

    A tuple, so ``key, score = neighbor`` works as with gensim's ``(word, score)`` pairs.

    Example:
        >>> key, score = Neighbor("queen", 0.71)
        >>> key
        'queen'
    """

    key: str
    score: float


class AnalogyMethod(StrEnumOption):
    """How :meth:`WordVectors.analogy` scores candidates: 3CosAdd or 3CosMul."""

    ADD = "add"
    MUL = "mul"


class WordVectors(GensimHabits):
    """Word keys mapped to rows of one float32 matrix.

    Example:
        >>> import numpy as np
        >>> wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
        >>> wv["b"].tolist(), "a" in wv, len(wv)
        ([0.0, 1.0], True, 2)
    """

    def __init__(
        self,
        keys: Sequence[str],
        vectors: npt.ArrayLike,
        *,
        counts: npt.ArrayLike | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2:
            raise DimensionMismatchError(
                "vectors must be a 2-D matrix (keys x dimensions); "
                f"got an array of shape {matrix.shape}"
            )
        key_list = [str(k) for k in keys]
        if len(key_list) != matrix.shape[0]:
            raise DimensionMismatchError(
                f"number of keys ({len(key_list)}) does not match "
                f"number of vectors ({matrix.shape[0]})"
            )
        index = {k: i for i, k in enumerate(key_list)}
        if len(index) != len(key_list):
            seen: set[str] = set()
            dup = next(k for k in key_list if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise InvalidParameterError(f"keys must be unique; {dup!r} appears more than once")
        count_array: np.ndarray | None = None
        if counts is not None:
            count_array = np.asarray(counts, dtype=np.int64)
            if count_array.shape != (len(key_list),):
                raise DimensionMismatchError(
                    f"counts must have one entry per key ({len(key_list)}); "
                    f"got shape {count_array.shape}"
                )
        self._keys = key_list
        self._index = index
        self._vectors = matrix
        self._counts = count_array
        self.config: dict[str, Any] = dict(config or {})
        self._unit: np.ndarray | None = None

    # -- container protocol -------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """The keys, in row order (most frequent first when trained)."""
        return self._keys

    @property
    def vectors(self) -> np.ndarray:
        """The (n, dim) float32 matrix."""
        return self._vectors

    @property
    def counts(self) -> np.ndarray | None:
        """Corpus counts per key (int64), or None when unknown."""
        return self._counts

    @property
    def key_to_index(self) -> Mapping[str, int]:
        """Key → row number."""
        return self._index

    @property
    def dim(self) -> int:
        """Number of dimensions."""
        return int(self._vectors.shape[1])

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __getitem__(self, key: str) -> np.ndarray:
        row: np.ndarray = self._vectors[self.get_index(key)]
        return row

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} keys, dim={self.dim})"

    def _repr_html_(self) -> str:
        from embedlab._html import word_vectors_html

        return word_vectors_html(self)

    def get_index(self, key: str) -> int:
        """Row number of key; raises UnknownKeyError (a KeyError) naming it."""
        try:
            return self._index[key]
        except (KeyError, TypeError):
            raise UnknownKeyError(str(key), self._suggest(str(key))) from None

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to unit length (zero rows stay zero), computed once."""
        if self._unit is None:
            self._unit = normalize(self._vectors)
        return self._unit

    # -- similarity queries -------------------------------------------------------------
    @overload
    def most_similar(
        self,
        positive: Terms = (),
        negative: Terms = (),
        *,
        k: None = None,
        metric: str | Metric = "cosine",
        restrict_vocab: int | None = None,
        topn: None,
    ) -> npt.NDArray[np.float32]: ...

    @overload
    def most_similar(
        self,
        positive: Terms = (),
        negative: Terms = (),
        *,
        k: int | None = None,
        metric: str | Metric = "cosine",
        restrict_vocab: int | None = None,
        topn: int | EllipsisType = ...,
    ) -> list[Neighbor]: ...

    def most_similar(
        self,
        positive: Terms = (),
        negative: Terms = (),
        *,
        k: int | None = None,
        metric: str | Metric = "cosine",
        restrict_vocab: int | None = None,
        topn: int | EllipsisType | None = ...,
    ) -> list[Neighbor] | npt.NDArray[np.float32]:
        """The k keys nearest to the sum of ``positive`` minus the sum of ``negative``.

        Each term is a key or a raw vector (np.ndarray of shape ``(dim,)``); one key or a
        sequence of them. For ``cosine`` the terms are unit vectors and their combination is
        normalised again; ``dot``, ``euclidean`` and ``manhattan`` combine the raw vectors.
        Similarities come highest first, distances smallest first. Keys given as terms are
        left out of the results. ``restrict_vocab=N`` searches only the first N rows (the
        most frequent keys, for a trained model). ``topn`` is gensim's name for ``k``
        (default 10); ``topn=None`` answers gensim's array instead: every key's score (the
        first ``restrict_vocab`` keys), in key order, the query's own keys included.

        Example:
            >>> wv = WordVectors(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
            >>> [key for key, _ in wv.most_similar("a", k=2)]
            ['b', 'c']
            >>> wv.most_similar([np.array([0.0, 2.0])], k=1, metric="euclidean")
            [Neighbor(key='c', score=1.0)]
        """
        every = topn is None
        if every and k is not None:
            raise InvalidParameterError(
                f"give k or topn=None (every score, gensim's array), not both; got k={k!r}"
            )
        k = 1 if every else check_int("k", resolve_topn(k, None if topn is ... else topn))
        kind = _vector_metric(metric)
        limit = self._limit(restrict_vocab)
        cos = kind is Metric.COSINE
        query, exclude = self._combine(positive, negative, unit=cos)
        if kind in (Metric.COSINE, Metric.DOT):
            matrix = self.unit_vectors if cos else self._vectors
            scores: npt.NDArray[Any] = matrix[:limit] @ query
        else:
            scores = pairwise(kind, query, self._vectors[:limit])
        if every:
            return np.asarray(scores, dtype=np.float32)
        return self._rank(scores, k, exclude, largest=kind.higher_is_better)

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two keys' vectors, in [-1, 1] (0 when either is zero).

        Example:
            >>> wv = WordVectors(["a", "b"], [[1.0, 0.0], [1.0, 1.0]])
            >>> round(wv.similarity("a", "b"), 4)
            0.7071
        """
        unit = self.unit_vectors
        value = float(unit[self.get_index(w1)] @ unit[self.get_index(w2)])
        return min(1.0, max(-1.0, value))

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        *,
        k: int = 1,
        method: str | AnalogyMethod = "add",
        restrict_vocab: int | None = None,
    ) -> list[Neighbor]:
        """Answer ``a : b :: c : ?`` (man : king :: woman : queen), leaving out a, b and c.

        ``method="add"`` is 3CosAdd: the keys most cosine-similar to ``b - a + c`` over unit
        vectors. ``method="mul"`` is 3CosMul (Levy & Goldberg, 2014): with cosines shifted
        to [0, 1] by ``(cos + 1) / 2``, the score of x is
        ``cos(x, b) * cos(x, c) / (cos(x, a) + 0.001)``.

        Example:
            >>> wv = WordVectors(
            ...     ["man", "king", "woman", "queen", "apple"],
            ...     [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [1, -1, 0]],
            ... )
            >>> wv.analogy("man", "king", "woman")[0].key
            'queen'
            >>> wv.analogy("man", "king", "woman", method="mul")[0].key
            'queen'
        """
        how = AnalogyMethod.parse(method, name="method")
        if how is AnalogyMethod.ADD:
            return self.most_similar(
                positive=[b, c], negative=[a], k=k, restrict_vocab=restrict_vocab
            )
        k = check_int("k", k, minimum=1)
        limit = self._limit(restrict_vocab)
        rows = [self.get_index(w) for w in (a, b, c)]
        unit = self.unit_vectors
        sims = unit[:limit] @ unit[rows].T  # (limit, 3): cos with a, b, c
        sims += 1.0
        sims *= 0.5
        scores = sims[:, 1] * sims[:, 2] / (sims[:, 0] + np.float32(1e-3))
        return self._rank(scores, k, set(rows), largest=True)

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word furthest (lowest cosine) from the mean of the words' unit vectors.

        Words not in the vocabulary are ignored; at least two known words are needed.

        Example:
            >>> wv = WordVectors(["cat", "dog", "car"], [[1.0, 0.1], [0.9, 0.2], [-0.1, 1.0]])
            >>> wv.doesnt_match(["cat", "dog", "car", "unknown"])
            'car'
        """
        if isinstance(words, str):
            raise InvalidParameterError(
                f"doesnt_match takes a list of words, not one string; got {words!r}"
            )
        given = list(words)
        known = [w for w in given if isinstance(w, str) and w in self._index]
        if len(known) < 2:
            raise InvalidParameterError(
                f"doesnt_match needs at least 2 known words; got {len(known)} known among {given!r}"
            )
        rows = self.unit_vectors[[self._index[w] for w in known]]
        centre = normalize(rows.mean(axis=0))
        return known[int(np.argmin(rows @ centre))]

    # -- persistence (the formats live in embedlab.io) ------------------------------------
    def save(self, path: PathLike) -> None:
        """Save as an embedlab model folder (``embedlab.io.save_folder``).

        Example:
            >>> wv.save("model")  # doctest: +SKIP
        """
        from embedlab.io import save_folder

        save_folder(self, path)

    @classmethod
    def load(cls, path: PathLike, mmap: str | None = None) -> WordVectors:
        """Load a model folder written by :meth:`save` (``embedlab.io.load_folder``).

        ``mmap="r"`` (gensim's form) maps the vectors read-only instead of reading them.

        Example:
            >>> wv = WordVectors.load("model")  # doctest: +SKIP
        """
        from embedlab.io import load_folder

        if mmap not in (None, "r"):
            raise InvalidParameterError(f"The 'mmap' parameter must be None or 'r'. Got {mmap!r}.")
        return load_folder(path, mmap=mmap == "r")

    def save_word2vec_format(self, path: PathLike, *, binary: bool = False) -> None:
        """Write the word2vec text (or, with ``binary=True``, binary) format.

        Example:
            >>> wv.save_word2vec_format("vectors.txt")  # doctest: +SKIP
        """
        from embedlab.io import save_word2vec_format

        save_word2vec_format(self, path, binary=binary)

    @classmethod
    def load_word2vec_format(
        cls, path: PathLike, *, binary: bool | None = None, limit: int | None = None
    ) -> WordVectors:
        """Read the word2vec text or binary format (``binary=None`` detects which).

        ``limit`` keeps only the first rows. Example:
            >>> wv = WordVectors.load_word2vec_format("vectors.bin", limit=50_000)  # doctest: +SKIP
        """
        from embedlab.io import load_word2vec_format

        return load_word2vec_format(path, binary=binary, limit=limit)

    # -- private helpers ----------------------------------------------------------------
    def _limit(self, restrict_vocab: int | None) -> int:
        """Number of leading rows to search."""
        if restrict_vocab is None:
            return len(self._keys)
        return min(check_int("restrict_vocab", restrict_vocab, minimum=1), len(self._keys))

    def _combine(
        self, positive: Terms, negative: Terms, *, unit: bool
    ) -> tuple[npt.NDArray[np.float32], set[int]]:
        """The query vector (sum of positive minus negative terms) and the rows it names."""
        terms = [(t, 1.0) for t in _terms(positive, "positive")]
        terms += [(t, -1.0) for t in _terms(negative, "negative")]
        if not terms:
            raise InvalidParameterError(
                "most_similar needs at least one positive or negative key or vector; got none"
            )
        query = np.zeros(self.dim, dtype=np.float32)
        rows: set[int] = set()
        for term, weight in terms:
            if isinstance(term, str):
                vector, row = self._term_vector(term, unit=unit)
                if row is not None:
                    rows.add(row)
            else:
                vector = np.asarray(term, dtype=np.float32)
                if vector.shape != (self.dim,):
                    raise DimensionMismatchError(
                        f"a query vector must have shape ({self.dim},); got shape {vector.shape}"
                    )
                if unit:
                    vector = normalize(vector)
            query += np.float32(weight) * vector
        return (normalize(query) if unit else query), rows

    def _term_vector(self, term: str, *, unit: bool) -> tuple[np.ndarray, int | None]:
        """A key's vector (unit length if unit) and its row, for building queries."""
        row = self.get_index(term)
        return (self.unit_vectors if unit else self._vectors)[row], row

    def _rank(
        self, scores: npt.NDArray[Any], k: int, exclude: set[int], *, largest: bool
    ) -> list[Neighbor]:
        """The best k of scores (modified in place) as Neighbors, leaving out rows in exclude."""
        blocked = [row for row in exclude if row < scores.shape[0]]
        scores[blocked] = -np.inf if largest else np.inf
        k = min(k, scores.shape[0] - len(blocked))
        if k <= 0:
            return []
        rows, best = top_k(scores, k, largest=largest)
        return [
            Neighbor(self._keys[r], float(v))
            for r, v in zip(rows.tolist(), best.tolist(), strict=True)
        ]

    def _suggest(self, key: str, limit: int = 3) -> list[str]:
        """A few close spellings among the 20,000 most frequent keys (cheap: difflib)."""
        import difflib

        return difflib.get_close_matches(key, self._keys[:20000], n=limit, cutoff=0.8)


def _vector_metric(metric: str | Metric) -> Metric:
    """The metric, which must be one that applies to float vectors."""
    kind = Metric.parse(metric, name="metric")
    if kind is Metric.HAMMING:
        raise InvalidParameterError(
            "The 'metric' parameter must be one of 'cosine', 'dot', 'euclidean', 'manhattan' "
            "for word vectors. Got 'hamming'."
        )
    return kind


def _terms(value: Terms, name: str) -> list[Term]:
    """One key or vector, or a sequence of them, as a list; anything else is an error."""
    if value is None and name == "negative":  # as gensim: no negative terms
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray):
        if value.ndim == 1:
            return [value]
        if value.ndim == 2:
            return list(value)
        raise DimensionMismatchError(
            f"{name} vectors must be 1-D or 2-D arrays; got an array of shape {value.shape}"
        )
    if not isinstance(value, list | tuple):
        raise InvalidParameterError(
            f"{name} must be a key (str), a vector (np.ndarray) or a list of those; "
            f"got {type(value).__name__} {value!r:.60}"
        )
    items = list(value)
    for item in items:
        if not isinstance(item, str | np.ndarray):
            raise InvalidParameterError(
                f"{name} must hold keys (str) or vectors (np.ndarray); "
                f"got {type(item).__name__} {item!r}"
            )
    return items

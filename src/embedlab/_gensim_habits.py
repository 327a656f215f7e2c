"""gensim's ``KeyedVectors`` names on :class:`~embedlab.WordVectors`, so gensim code runs.

:class:`GensimHabits` is a mixin: each method is a few lines over WordVectors' own API
(``most_similar(k=)``, ``similarity``, ``unit_vectors``), computed the way gensim 4
computes it (``tests/test_gensim_habits.py`` compares the answers with gensim's own on one
model). What gensim does that embedlab does not (an ``indexer=``, pickled models) is a
typed error naming the option, never a silent difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import EllipsisType
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_int
from embedlab.errors import InvalidParameterError, UnsupportedOptionError
from embedlab.metrics import normalize

if TYPE_CHECKING:
    from embedlab.vectors import Neighbor, Terms

__all__ = ["GensimHabits", "resolve_topn"]


def resolve_topn(k: int | None, topn: int | None, default: int = 10) -> int:
    """The neighbour count from embedlab's ``k`` or gensim's ``topn`` (not both)."""
    if k is not None and topn is not None:
        raise InvalidParameterError(
            f"give k or topn (gensim's name for it), not both; got k={k!r}, topn={topn!r}"
        )
    value = topn if topn is not None else k
    return default if value is None else value


class GensimHabits:
    """gensim ``KeyedVectors`` methods and attributes, for code moving from gensim.

    Example:
        >>> from embedlab import WordVectors
        >>> wv = WordVectors(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> wv.index_to_key, wv.get_vector("c").tolist(), wv.rank("a", "b")
        (['a', 'b', 'c'], [0.0, 1.0], 1)
        >>> [key for key, _ in wv.most_similar("a", topn=1)]
        ['b']
    """

    if TYPE_CHECKING:  # what the host class (WordVectors) provides

        @property
        def keys(self) -> list[str]: ...
        @property
        def vectors(self) -> np.ndarray: ...
        @property
        def unit_vectors(self) -> np.ndarray: ...
        @property
        def dim(self) -> int: ...
        def __contains__(self, key: object) -> bool: ...
        def __getitem__(self, key: str) -> np.ndarray: ...
        def get_index(self, key: str) -> int: ...
        def similarity(self, w1: str, w2: str) -> float: ...
        def most_similar(
            self,
            positive: Terms = (),
            negative: Terms = (),
            *,
            k: int | None = None,
            metric: str = "cosine",
            restrict_vocab: int | None = None,
            topn: int | EllipsisType = ...,
        ) -> list[Neighbor]: ...
        def _limit(self, restrict_vocab: int | None) -> int: ...
        def _rank(
            self, scores: npt.NDArray[Any], k: int, exclude: set[int], *, largest: bool
        ) -> list[Neighbor]: ...

    # -- attributes gensim code reads --------------------------------------------------
    @property
    def index_to_key(self) -> list[str]:
        """Row number → key (gensim's name for :attr:`keys`)."""
        return self.keys

    @property
    def vector_size(self) -> int:
        """Number of dimensions (gensim's name for :attr:`dim`)."""
        return self.dim

    @property
    def norms(self) -> np.ndarray:
        """Each row's L2 norm (float32)."""
        norms: np.ndarray = np.linalg.norm(self.vectors, axis=1)
        return norms

    def has_index_for(self, key: object) -> bool:
        """True if key has a row (gensim's name for ``key in wv``)."""
        return key in self

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        """The key's vector; ``norm=True`` gives it at unit length."""
        if key in self:
            row = self.get_index(key)
            return (self.unit_vectors if norm else self.vectors)[row]  # type: ignore[no-any-return]
        vector = self[key]  # FastText composes a vector from n-grams; others raise
        return normalize(vector) if norm else vector

    def word_vec(self, key: str, norm: bool = False) -> np.ndarray:
        """gensim 3's name for :meth:`get_vector`."""
        return self.get_vector(key, norm=norm)

    def get_normed_vectors(self) -> np.ndarray:
        """Every row at unit length (zero rows stay zero)."""
        return self.unit_vectors

    def fill_norms(self, force: bool = False) -> None:
        """Nothing to do: unit vectors are computed once, on first use."""

    def init_sims(self, replace: bool = False) -> None:
        """Nothing to do (gensim 3); ``replace=True`` is refused rather than destroying rows."""
        if replace:
            raise UnsupportedOptionError(
                "init_sims(replace=True) overwrote gensim's vectors with unit vectors; embedlab "
                "keeps both (wv.unit_vectors). Drop replace=True."
            )

    # -- similarity queries under gensim's names --------------------------------------
    def similar_by_word(
        self, word: str, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[Neighbor]:
        """The topn keys nearest to word (gensim's ``similar_by_word``)."""
        return self.most_similar(word, topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(
        self,
        vector: npt.ArrayLike,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[Neighbor]:
        """The topn keys nearest to a raw vector (keys equal to it are not left out)."""
        query = np.asarray(vector, dtype=np.float32)
        return self.most_similar([query], topn=topn, restrict_vocab=restrict_vocab)

    @overload
    def most_similar_cosmul(
        self,
        positive: Terms | None = None,
        negative: Terms | None = None,
        *,
        topn: None,
        restrict_vocab: int | None = None,
    ) -> npt.NDArray[np.float64]: ...

    @overload
    def most_similar_cosmul(
        self,
        positive: Terms | None = None,
        negative: Terms | None = None,
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[Neighbor]: ...

    def most_similar_cosmul(
        self,
        positive: Terms | None = None,
        negative: Terms | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[Neighbor] | npt.NDArray[np.float64]:
        """3CosMul over any number of terms, as gensim: with cosines shifted to [0, 1],
        the product over positive terms divided by (the product over negative ones + 1e-6).

        ``topn=None`` answers gensim's array: every key's score in key order (the query's
        own keys included).

        Example:
            >>> from embedlab import WordVectors
            >>> wv = WordVectors(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
            >>> wv.most_similar_cosmul("a", topn=None).round(3).tolist()
            [1.0, 0.997, 0.5]
        """
        from embedlab.vectors import _terms

        k = 1 if topn is None else check_int("topn", topn, minimum=1)
        limit = self._limit(restrict_vocab)
        pos = _terms(positive if positive is not None else [], "positive")
        neg = _terms(negative if negative is not None else [], "negative")
        if not pos and not neg:
            raise InvalidParameterError("most_similar_cosmul needs at least one key or vector")
        unit = self.unit_vectors[:limit]
        exclude: set[int] = set()

        def shifted(term: str | np.ndarray) -> np.ndarray:
            if isinstance(term, str):
                row = self.get_index(term)
                exclude.add(row)
                vector = self.unit_vectors[row]
            else:
                vector = normalize(np.asarray(term, dtype=np.float32))
            result: np.ndarray = (1.0 + unit @ vector) / 2.0
            return result

        top = np.prod([shifted(t) for t in pos], axis=0) if pos else np.ones(limit)
        bottom = np.prod([shifted(t) for t in neg], axis=0) if neg else np.ones(limit)
        scores = np.asarray(top / (bottom + 1e-6), dtype=np.float64)
        if topn is None:
            return scores  # float64, as gensim's
        return self._rank(scores, k, exclude, largest=True)

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of two sets of keys' vectors (raw, as gensim)."""
        if not len(ws1) or not len(ws2):
            raise InvalidParameterError(
                f"n_similarity needs two non-empty lists of keys; got {len(ws1)} and {len(ws2)}"
            )
        mean1 = self.vectors[[self.get_index(w) for w in ws1]].mean(axis=0)
        mean2 = self.vectors[[self.get_index(w) for w in ws2]].mean(axis=0)
        return float(normalize(mean1) @ normalize(mean2))

    def distance(self, w1: str, w2: str) -> float:
        """Cosine distance, ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    def distances(
        self, word_or_vector: str | npt.ArrayLike, other_words: Iterable[str] = ()
    ) -> np.ndarray:
        """Cosine distances from a key or vector to other_words (all keys when empty)."""
        if isinstance(word_or_vector, str):
            query = self.unit_vectors[self.get_index(word_or_vector)]
        else:
            query = normalize(np.asarray(word_or_vector, dtype=np.float32))
        others = list(other_words)
        matrix = self.unit_vectors
        if others:
            matrix = matrix[[self.get_index(w) for w in others]]
        out: np.ndarray = 1.0 - matrix @ query
        return out

    def closer_than(self, key1: str, key2: str) -> list[str]:
        """Keys nearer to key1 than key2 is (key1 itself left out)."""
        all_distances = self.distances(key1)
        first = self.get_index(key1)
        cut = all_distances[self.get_index(key2)]
        return [self.keys[i] for i in np.flatnonzero(all_distances < cut) if i != first]

    def rank(self, key1: str, key2: str) -> int:
        """Rank of key2 among key1's neighbours (1: the nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    @staticmethod
    def cosine_similarities(vector_1: npt.ArrayLike, vectors_all: npt.ArrayLike) -> np.ndarray:
        """Cosine of one vector with each row of a matrix."""
        one = normalize(np.asarray(vector_1, dtype=np.float32))
        out: np.ndarray = normalize(np.asarray(vectors_all, dtype=np.float32)) @ one
        return out

    def get_mean_vector(
        self,
        keys: Sequence[str],
        pre_normalize: bool = True,
        post_normalize: bool = False,
    ) -> np.ndarray:
        """Mean of keys' vectors (unit vectors first unless ``pre_normalize=False``)."""
        if not len(keys):
            raise InvalidParameterError("get_mean_vector needs at least one key; got none")
        rows = [self.get_index(k) for k in keys]
        mean = (self.unit_vectors if pre_normalize else self.vectors)[rows].mean(axis=0)
        out: np.ndarray = normalize(mean) if post_normalize else mean
        return out

    def evaluate_word_pairs(self, pairs: Any = None, **options: Any) -> Any:
        """Spearman / Pearson on word-pair similarities (``embedlab.eval``; gensim's name).

        Returns embedlab's result object, not gensim's tuple: read ``.spearman``.
        """
        from embedlab.eval import evaluate_word_pairs

        return evaluate_word_pairs(self, pairs, **options)  # type: ignore[arg-type]

    def evaluate_word_analogies(self, analogies: Any = None, **options: Any) -> Any:
        """Analogy accuracy (``embedlab.eval``; gensim's name). Read ``.accuracy``."""
        from embedlab.eval import evaluate_analogies

        return evaluate_analogies(self, analogies, **options)  # type: ignore[arg-type]

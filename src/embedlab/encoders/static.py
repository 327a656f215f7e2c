"""StaticEncoder: sentence vectors pooled from word vectors (mean, or SIF).

(:class:`DistilledEncoder` and :func:`distill`, static token vectors distilled from a
transformer as model2vec does, live in :mod:`embedlab.encoders.distilled` and are
re-exported here.)

A text is split with :func:`embedlab.text.tokenize` and its words' vectors are pooled:

- ``mean``: the plain average of the word vectors;
- ``sif`` (Arora, Liang and Ma, 2017, "A simple but tough-to-beat baseline for sentence
  embeddings"): a weighted average with weights ``a / (a + p(w))``, where ``p(w)`` is the
  word's share of the training corpus (the model's ``counts``; when the model has none, a
  Zipf estimate from its rank, since vector files list the most frequent words first).

The second half of SIF, removing the projection on the first principal component of the
sentence vectors, needs a corpus to estimate that component on: call :meth:`fit` with
representative texts. Until then an encoder gives the weighted averages only. A fitted
component is removed whatever the pooling, so ``mean`` plus :meth:`fit` also works.

Words out of the vocabulary: a FastText model (:class:`~embedlab.subword_vectors.
FastTextVectors`) composes them from character n-grams (with SIF they count as never
seen, ``p(w) = 0``, weight 1); plain word vectors skip them. A text with no word left
(empty, punctuation only, or every word unknown) gets the **zero vector**, which
``normalize=True`` keeps at zero and which has cosine 0 with everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_float, check_int
from embedlab.encoders.base import check_texts
from embedlab.encoders.distilled import DistilledEncoder, distill  # static token vectors
from embedlab.errors import CorpusError, InvalidParameterError, UnknownKeyError
from embedlab.metrics import normalize as unit_rows
from embedlab.subword_vectors import FastTextVectors
from embedlab.text.tokenize import tokenize
from embedlab.vectors import WordVectors

__all__ = ["DistilledEncoder", "StaticEncoder", "StaticPooling", "distill"]


class StaticPooling(StrEnumOption):
    """How word vectors are pooled into one text vector."""

    MEAN = "mean"
    SIF = "sif"


class StaticEncoder:
    """Encode texts by pooling the word vectors of any :class:`WordVectors` model.

    Example:
        >>> import numpy as np
        >>> wv = WordVectors(["cat", "dog"], np.array([[1.0, 0.0], [0.0, 1.0]]))
        >>> enc = StaticEncoder(wv)
        >>> enc.encode(["Cat and dog!", "zebra"]).tolist()  # "and", "zebra" are unknown
        [[0.5, 0.5], [0.0, 0.0]]
    """

    max_tokens: int | None = None
    """Static pooling has no input length limit."""

    def __init__(
        self,
        vectors: WordVectors,
        *,
        pooling: StaticPooling | str = StaticPooling.MEAN,
        sif_a: float = 1e-3,
        name: str | None = None,
    ) -> None:
        if not isinstance(vectors, WordVectors):
            raise InvalidParameterError(
                f"The 'vectors' parameter must be a WordVectors. Got {type(vectors).__name__}."
            )
        if len(vectors) == 0:
            raise InvalidParameterError("The 'vectors' parameter must hold at least one word.")
        self.vectors = vectors
        self.pooling = StaticPooling.parse(pooling, name="pooling")
        self.sif_a = check_float("sif_a", sif_a, inclusive_min=False)
        self.dim: int = vectors.dim
        self.name: str = (
            name if name is not None else f"static-{self.pooling}-{len(vectors)}x{self.dim}"
        )
        self.component: np.ndarray | None = None
        """The unit common component removed from every vector (set by :meth:`fit`)."""
        self._weights = (
            _sif_weights(vectors, self.sif_a) if self.pooling is StaticPooling.SIF else None
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        pooling: StaticPooling | str = StaticPooling.MEAN,
        sif_a: float = 1e-3,
        name: str | None = None,
        limit: int | None = None,
    ) -> StaticEncoder:
        """Load vectors in any format :func:`embedlab.io.load_vectors` reads, and wrap them.

        The default name is ``static:PATH`` (``static:PATH:sif`` for SIF pooling).

        Example:
            >>> enc = StaticEncoder.load("model", pooling="sif")  # doctest: +SKIP
            >>> enc.name  # doctest: +SKIP
            'static:model:sif'
        """
        from embedlab.io import load_vectors

        vectors = load_vectors(path, limit=limit)
        kind = StaticPooling.parse(pooling, name="pooling")
        if name is None:
            name = f"static:{os.fspath(path)}" + (":sif" if kind is StaticPooling.SIF else "")
        return cls(vectors, pooling=kind, sif_a=sif_a, name=name)

    def __repr__(self) -> str:
        fitted = ", fitted" if self.component is not None else ""
        return (
            f"StaticEncoder({self.name!r}, pooling={self.pooling.value!r}, dim={self.dim}{fitted})"
        )

    def fit(self, texts: Sequence[str]) -> StaticEncoder:
        """Estimate the common component on ``texts``; later encodings remove it.

        The component is the first right singular vector of the pooled (uncentred) text
        vectors, as in Arora et al.; texts with no known word do not take part. Returns self.

        Example:
            >>> import numpy as np
            >>> wv = WordVectors(["a", "b"], np.array([[1.0, 0.2], [1.0, -0.2]]))
            >>> enc = StaticEncoder(wv).fit(["a", "b", "a b"])
            >>> np.abs(enc.component).round(3).tolist()
            [1.0, 0.0]
        """
        pooled = self._pool(check_texts(texts), None)
        rows = pooled[np.any(pooled != 0, axis=1)]
        if len(rows) == 0:
            raise CorpusError(
                f"cannot fit the common component: none of the {len(pooled)} texts has a word "
                "the model knows"
            )
        _, _, vt = np.linalg.svd(rows.astype(np.float64), full_matrices=False)
        self.component = vt[0].astype(np.float32)
        return self

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """Encode texts as a float32 (n, dim) matrix; ``prompt`` is prepended to each text.

        ``batch_size`` only sets how often the progress bar moves. A text with no known
        word is the zero vector.

        Example:
            >>> import numpy as np
            >>> enc = StaticEncoder(WordVectors(["hi"], np.array([[3.0, 4.0]])))
            >>> enc.encode(["hi there"], normalize=True).tolist()
            [[0.6000000238418579, 0.800000011920929]]
        """
        items = check_texts(texts)
        batch_size = check_int("batch_size", batch_size)
        if prompt is not None:
            if not isinstance(prompt, str):
                raise InvalidParameterError(
                    f"The 'prompt' parameter must be a str or None. Got {prompt!r}."
                )
            items = [prompt + text for text in items]
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for start, stop in _progress(len(items), batch_size, show_progress, self.name):
            out[start:stop] = self._pool(items[start:stop], self.component)
        return unit_rows(out) if normalize and len(out) else out

    # -- private helpers ----------------------------------------------------------------
    def _pool(self, texts: Sequence[str], component: np.ndarray | None) -> np.ndarray:
        """Pooled vectors of texts, with the common component removed when given."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        composed: dict[str, np.ndarray | None] = {}
        matrix = self.vectors.vectors
        index = self.vectors.key_to_index
        for i, text in enumerate(texts):
            rows: list[int] = []
            extra: list[np.ndarray] = []
            for token in tokenize(text):
                row = index.get(token)
                if row is not None:
                    rows.append(row)
                else:
                    vector = self._oov(token, composed)
                    if vector is not None:
                        extra.append(vector)
            if not rows and not extra:
                continue
            weights = self._weights[rows] if self._weights is not None else None
            total = _weighted_sum(matrix[rows], weights, self.dim)
            for vector in extra:  # with SIF an unseen word has p(w) = 0: weight 1
                total += vector
            out[i] = total / np.float32(len(rows) + len(extra))
        if component is not None:
            out -= np.outer(out @ component, component).astype(np.float32)
        return out

    def _oov(self, token: str, cache: dict[str, np.ndarray | None]) -> np.ndarray | None:
        """The composed vector of an out-of-vocabulary word (FastText), else None."""
        if not isinstance(self.vectors, FastTextVectors):
            return None
        if token not in cache:
            try:
                cache[token] = self.vectors[token]
            except UnknownKeyError:  # no n-gram at all
                cache[token] = None
        return cache[token]


def _weighted_sum(rows: np.ndarray, weights: np.ndarray | None, dim: int) -> np.ndarray:
    """Sum of rows (k, dim), each scaled by its weight when weights are given."""
    if len(rows) == 0:
        return np.zeros(dim, dtype=np.float32)
    if weights is None:
        total: np.ndarray = rows.sum(axis=0, dtype=np.float32)
    else:
        total = (weights @ rows).astype(np.float32)
    return total


def _sif_weights(vectors: WordVectors, a: float) -> np.ndarray:
    """a / (a + p(w)) per row; p from the counts, or a Zipf law over the rank without them."""
    counts = vectors.counts
    if counts is not None and counts.sum() > 0:
        p = counts.astype(np.float64) / float(counts.sum())
    else:
        ranks = np.arange(1, len(vectors) + 1, dtype=np.float64)
        p = (1.0 / ranks) / float(np.sum(1.0 / ranks))
    weights: np.ndarray = (a / (a + p)).astype(np.float32)
    return weights


def _progress(n: int, step: int, show: bool, label: str) -> Iterator[tuple[int, int]]:
    """(start, stop) of each batch, drawn as a rich progress bar when show is set."""
    spans = [(s, min(s + step, n)) for s in range(0, n, step)]
    if not show:
        yield from spans
        return
    from rich.progress import track

    from embedlab._progress import stderr_console

    yield from track(spans, description=f"encoding ({label})", console=stderr_console())

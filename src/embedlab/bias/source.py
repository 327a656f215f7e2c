"""Any source of vectors as a :class:`~embedlab.vectors.WordVectors`, and word look-up.

The bias tools take a ``WordVectors`` model, a store ``Collection`` (its ids are the keys)
or keys with an array (a ``(keys, matrix)`` pair or a ``{key: vector}`` mapping), and
read them all through :func:`as_word_vectors`.

Example:
    >>> import numpy as np
    >>> wv = as_word_vectors((["a", "b"], np.eye(2)))
    >>> len(wv), wv.dim
    (2, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from embedlab.errors import InvalidParameterError
from embedlab.vectors import WordVectors

if TYPE_CHECKING:
    from embedlab.store import Collection

__all__ = ["VectorSource", "as_word_vectors", "find_key"]

VectorSource: TypeAlias = "WordVectors | Collection | tuple[Sequence[str], Any] | Mapping[str, Any]"
"""What the bias tools accept: a model, a collection, or keys with vectors."""


def as_word_vectors(source: object, keys: Iterable[str] | None = None) -> WordVectors:
    """``source`` as a WordVectors (the same object when it already is one).

    For a collection, ``keys`` (when given) limits the rows fetched to those ids (and their
    lower-case forms); ids that are not stored are simply absent, so that callers can
    report them as missing words.

    Example:
        >>> wv = as_word_vectors({"he": [1.0, 0.0], "she": [0.0, 1.0]})
        >>> wv.keys
        ['he', 'she']
    """
    if isinstance(source, WordVectors):
        return source
    if isinstance(source, Mapping):
        names = [str(k) for k in source]
        return WordVectors(names, np.array([np.asarray(source[k], np.float32) for k in source]))
    if isinstance(source, tuple) and len(source) == 2:
        names_part, matrix = source
        return WordVectors([str(k) for k in names_part], matrix)
    get = getattr(source, "get", None)
    if callable(get) and hasattr(source, "dim") and hasattr(source, "query"):
        wanted = None
        if keys is not None:
            asked = list(dict.fromkeys(keys))
            wanted = list(dict.fromkeys(asked + [k.lower() for k in asked]))
        rows = get(wanted, include=["vectors"])
        vectors = rows.vectors if rows.vectors is not None else np.zeros((0, source.dim))
        return WordVectors(list(rows.ids), np.asarray(vectors, np.float32).reshape(-1, source.dim))
    raise InvalidParameterError(
        "a source of vectors must be a WordVectors, a Collection, a (keys, matrix) pair or a "
        f"{{key: vector}} mapping; got {type(source).__name__}"
    )


def find_key(wv: WordVectors, word: str, *, lowercase: bool = True) -> str | None:
    """The key that stands for ``word``: itself, else (with ``lowercase``) its lower case.

    Example:
        >>> import numpy as np
        >>> find_key(WordVectors(["adam"], np.ones((1, 2))), "Adam")
        'adam'
    """
    if word in wv:
        return word
    if lowercase and word.lower() in wv:
        return word.lower()
    return None

"""The :class:`Encoder` protocol every text encoder follows, and the checks they share.

An encoder turns a list of texts into one float32 row per text::

    encoder.encode(["a text", "another"], batch_size=32, normalize=True)  # shape (2, dim)

It also tells its ``name`` (recorded by a collection, so vectors of two models never mix),
its ``dim`` and its ``max_tokens`` (the longest input the model reads in one pass, or
``None`` when it has no limit).

Empty strings are valid input everywhere: each encoder gives them a defined vector and
documents which (the transformer encoder encodes them as the model does, from its special
tokens alone; the static encoder gives the zero vector). Callers that want to refuse them
use ``check_texts(texts, allow_empty=False)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from embedlab._validation import check_utf8
from embedlab.errors import InvalidParameterError

__all__ = ["EncodeStats", "Encoder", "check_texts"]


@runtime_checkable
class Encoder(Protocol):
    """What :func:`embedlab.encoders.load` returns: texts in, float32 rows out.

    Example:
        >>> from embedlab.encoders import load
        >>> enc = load("minilm")  # doctest: +SKIP
        >>> isinstance(enc, Encoder), enc.encode(["hello"]).shape  # doctest: +SKIP
        (True, (1, 384))
    """

    @property
    def name(self) -> str:
        """A stable name for the model (and the options that change its vectors)."""
        ...

    @property
    def dim(self) -> int:
        """Number of dimensions of each vector."""
        ...

    @property
    def max_tokens(self) -> int | None:
        """The longest input read in one pass, in tokens; ``None`` for no limit."""
        ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        normalize: bool = False,
        show_progress: bool = False,
        prompt: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """Return a float32 array of shape ``(len(texts), dim)``, rows in input order."""
        ...


@dataclass(frozen=True)
class EncodeStats:
    """What one ``encode`` call did.

    ``truncated`` counts inputs cut to ``max_tokens`` (only with ``truncate=True``);
    ``split`` counts inputs longer than ``max_tokens`` that were split into windows,
    and ``sequences`` the model passes that ran (one per short text, one per window).
    """

    texts: int
    sequences: int
    truncated: int
    split: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        """Throughput of the call (0.0 for an empty or instantaneous call)."""
        return self.texts / self.seconds if self.seconds > 0 else 0.0


def check_texts(texts: object, *, allow_empty: bool = True, name: str = "texts") -> list[str]:
    """Return texts as a list of str, or raise naming the first item that is not one.

    A bare string is refused (it would otherwise be read as a list of characters).
    With ``allow_empty=False`` an empty or whitespace-only string is refused too.

    Example:
        >>> check_texts(("a", "b"))
        ['a', 'b']
        >>> check_texts("a")
        Traceback (most recent call last):
        ...
        embedlab.errors.InvalidParameterError: The 'texts' parameter must be a list of str, \
not a single str; wrap it: ['a'].
    """
    if isinstance(texts, str | bytes):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a list of str, not a single "
            f"{type(texts).__name__}; wrap it: [{texts[:40]!r}]."
        )
    if not _is_iterable(texts):
        raise InvalidParameterError(
            f"The {name!r} parameter must be a list of str. Got {type(texts).__name__}."
        )
    items: list[object] = list(texts)  # type: ignore[call-overload]
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidParameterError(
                f"The {name!r} parameter must be a list of str; item {i} is "
                f"{type(item).__name__} ({item!r:.60})."
            )
        check_utf8(item, where=f"{name}[{i}]")
        if not allow_empty and not item.strip():
            raise InvalidParameterError(
                f"The {name!r} parameter must not contain empty strings; item {i} is {item!r}."
            )
    return items  # type: ignore[return-value]  # every item was checked to be a str


def _is_iterable(value: object) -> bool:
    """True for iterables such as generators (read once, into a list)."""
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return not isinstance(value, dict)

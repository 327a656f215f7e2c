"""Helpers shared by the word-vector evaluations: file lines and the restricted vocabulary."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlab._validation import check_int, check_readable_file
from embedlab.errors import FormatError
from embedlab.vectors import WordVectors


def resolve_path(
    path: str | os.PathLike[str] | None, default: Callable[[], Path], *, what: str
) -> Path:
    """The user's file (checked readable) or the packaged default when path is None."""
    if path is None:
        return default()
    return check_readable_file(path, what=what)


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, decoded line without its newline); bad UTF-8 -> FormatError."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(
                    f"not valid UTF-8 ({exc.reason})", path=str(path), line=number
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield number, line.rstrip("\r\n")


def _identity(word: str) -> str:
    return word


@dataclass(frozen=True)
class RestrictedVocab:
    """The first ``size`` keys of a WordVectors, looked up in one case when asked.

    ``index`` maps a (folded) word to the row of its most frequent spelling; ``canonical``
    gives, for every row, the row that its folded form maps to (itself unless a more
    frequent spelling of the same folded form comes earlier).
    """

    fold: Callable[[str], str]
    index: dict[str, int]
    canonical: np.ndarray
    size: int

    def lookup(self, word: str) -> int | None:
        """Row of word (folded first when case-insensitive), or None when outside."""
        return self.index.get(self.fold(word))


def restricted_vocab(
    wv: WordVectors, restrict_vocab: object, *, case_insensitive: bool
) -> RestrictedVocab:
    """Build the lookup over ``wv.keys[:restrict_vocab]`` (validated with check_int)."""
    limit = check_int("restrict_vocab", restrict_vocab, minimum=1)
    keys = wv.keys[:limit]
    fold: Callable[[str], str] = str.upper if case_insensitive else _identity
    index: dict[str, int] = {}
    canonical = np.empty(len(keys), dtype=np.int64)
    for row, key in enumerate(keys):
        canonical[row] = index.setdefault(fold(key), row)
    return RestrictedVocab(fold=fold, index=index, canonical=canonical, size=len(keys))


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length as float32; zero rows stay zero."""
    rows = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: np.ndarray = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
    return out

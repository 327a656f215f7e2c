"""One streaming pass over a corpus: count every token and, optionally, write its ids to disk.

Training reads the id stream back in chunks, so the corpus is tokenized once, never held
in memory, and each epoch runs without Python touching a word.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlab.text._intern import SENTENCE_END, Interner
from embedlab.text.corpus import Corpus, CorpusSource

__all__ = ["SENTENCE_END", "CorpusScan", "ScanProgress", "scan_corpus"]


@dataclass(frozen=True)
class ScanProgress:
    """Where a scan stands: bytes read (of total_bytes when known) and words so far."""

    bytes_read: int
    total_bytes: int | None
    words: int


@dataclass(frozen=True)
class CorpusScan:
    """What one pass over a corpus found.

    ``tokens`` interns the distinct token runs in order of first appearance (``raw_keys``
    and ``raw_counts`` list them; decoding every key costs memory, so the vocabulary
    decodes only the ones it may keep).
    When written, ``ids_path`` holds int32 raw ids with ``SENTENCE_END`` (-1) at each line
    end; ``chunk_bounds[i]:chunk_bounds[i+1]`` is one chunk of that file (whole lines), and
    ``chunk_words[i]`` the word tokens in it.
    """

    tokens: Interner | None
    words: int
    lines: int
    replaced_bytes: int
    seconds: float
    ids_path: Path | None
    chunk_bounds: np.ndarray
    chunk_words: np.ndarray

    @property
    def raw_keys(self) -> list[str]:
        """Every distinct token run, by raw id."""
        return self._interned().keys()

    @property
    def raw_counts(self) -> np.ndarray:
        """Occurrences of each distinct token run, by raw id."""
        return self._interned().counts()

    def without_tokens(self) -> CorpusScan:
        """The same scan less the interned tokens (to free their memory)."""
        return dataclasses.replace(self, tokens=None)

    def _interned(self) -> Interner:
        if self.tokens is None:
            raise ValueError("this scan's tokens were released")
        return self.tokens


def scan_corpus(
    source: CorpusSource | Corpus,
    *,
    ids_path: str | os.PathLike[str] | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
) -> CorpusScan:
    """Tokenize a corpus once, counting tokens and (if ids_path is given) writing their ids.

    Example:
        >>> scan = scan_corpus(["a b a", "b c"])
        >>> scan.raw_keys, scan.raw_counts.tolist(), scan.words, scan.lines
        (['a', 'b', 'c'], [2, 2, 1], 5, 2)
    """
    corpus = source if isinstance(source, Corpus) else Corpus(source)
    started = time.perf_counter()
    interner = Interner()
    total_bytes = corpus.total_bytes()
    bounds = [0]
    chunk_words: list[int] = []
    words = lines = bytes_read = 0
    out = open(ids_path, "wb") if ids_path is not None else None  # noqa: SIM115
    try:
        for data, nbytes in corpus.token_blocks():
            ids, n_words = interner.feed(data)
            if out is not None:
                ids.tofile(out)
            words += n_words
            lines += len(ids) - n_words
            bounds.append(bounds[-1] + len(ids))
            chunk_words.append(n_words)
            bytes_read += nbytes
            if progress is not None:
                progress(ScanProgress(bytes_read, total_bytes, words))
    finally:
        if out is not None:
            out.close()
    if corpus.replaced_bytes:
        warnings.warn(
            f"{corpus.description}: {corpus.replaced_bytes:,} bytes were not valid "
            f"{corpus.encoding} and were replaced by U+FFFD, splitting the words they were in; "
            "if the corpus has another encoding, name it (encoding='latin-1'; CLI: --encoding)",
            UnicodeWarning,
            stacklevel=2,
        )
    return CorpusScan(
        tokens=interner,
        words=words,
        lines=lines,
        replaced_bytes=corpus.replaced_bytes,
        seconds=time.perf_counter() - started,
        ids_path=Path(ids_path) if ids_path is not None else None,
        chunk_bounds=np.asarray(bounds, dtype=np.int64),
        chunk_words=np.asarray(chunk_words, dtype=np.int64),
    )

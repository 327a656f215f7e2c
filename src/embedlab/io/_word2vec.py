"""The word2vec family: word2vec text and binary, fastText ``.vec`` and GloVe text."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedlab._validation import check_codec_errors, check_int, check_readable_file
from embedlab.errors import FormatError, InvalidParameterError
from embedlab.io._binary import read_binary, write_binary
from embedlab.io._files import atomic_binary_writer, open_binary_reader
from embedlab.io._sniff import parse_header, sniff
from embedlab.io._text import read_text, write_text
from embedlab.vectors import WordVectors

__all__ = ["load_word2vec_format", "save_glove_format", "save_word2vec_format"]

_SEPARATOR = re.compile(r"[ \t\n\r\x0b\x0c]")


def load_word2vec_format(
    path: str | os.PathLike[str],
    *,
    binary: bool | None = None,
    limit: int | None = None,
    unicode_errors: str = "strict",
) -> WordVectors:
    """Load word2vec text or binary, a fastText ``.vec`` file or GloVe text.

    A first line of two integers ("count dim") is a header; without one the file is read
    as GloVe text. ``binary=None`` decides text or binary from the bytes after the header.
    Gzip-compressed files are read transparently. ``limit`` keeps the first vectors only.
    ``unicode_errors`` is how undecodable keys are handled ("strict", "replace", "ignore").

    A key that appears twice keeps its first vector and the later ones are dropped with a
    warning, as gensim does. Malformed content raises FormatError naming the file and the
    line (for binary files, the vector and byte offset).

    Example:
        >>> wv = load_word2vec_format("vectors.txt")  # doctest: +SKIP
        >>> wv = load_word2vec_format("GoogleNews.bin.gz", limit=100_000)  # doctest: +SKIP
    """
    file = check_readable_file(path, what="vector file")
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    if binary is not None and not isinstance(binary, bool):
        raise InvalidParameterError(
            f"The 'binary' parameter must be True, False or None. Got {binary!r}."
        )
    check_codec_errors("unicode_errors", unicode_errors)
    name = str(file)
    if binary is None:
        binary = sniff(file).binary
    with open_binary_reader(file) as stream:
        first = stream.readline()
        header = parse_header(first)
        if header is not None and header.dim < 1:
            raise FormatError(f"the header declares dimension {header.dim}", path=name, line=1)
        if binary and header is None:
            raise FormatError(
                f"a binary word2vec file starts with a 'count dim' line; found {first[:60]!r}",
                path=name,
                line=1,
            )
        if header is not None:
            read = read_binary if binary else read_text
            keys, matrix = read(
                stream, path=name, header=header, limit=limit, unicode_errors=unicode_errors
            )
    if header is None:  # GloVe: the first line is already data
        with open_binary_reader(file) as stream:
            keys, matrix = read_text(
                stream, path=name, header=None, limit=limit, unicode_errors=unicode_errors
            )
    first_line = None if binary else (1 if header is None else 2)
    keys, matrix = _drop_duplicates(keys, matrix, name, first_line=first_line)
    return WordVectors(keys, matrix)


def _drop_duplicates(
    keys: list[str], matrix: np.ndarray, path: str, *, first_line: int | None
) -> tuple[list[str], np.ndarray]:
    """Keep the first occurrence of each key (gensim's rule), warning about the rest."""
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        seen.setdefault(key, i)
    if len(seen) == len(keys):
        return keys, matrix
    keep = np.fromiter(seen.values(), dtype=np.int64, count=len(seen))
    first_dup = next(i for i, key in enumerate(keys) if seen[key] != i)
    where = (
        f"line {first_line + first_dup}" if first_line is not None else f"vector {first_dup + 1}"
    )
    warnings.warn(
        f"{path}: {len(keys) - len(seen)} duplicate keys (first: {keys[first_dup]!r} at "
        f"{where}); keeping the first vector of each",
        UserWarning,
        stacklevel=3,
    )
    return list(seen), matrix[keep]


def save_word2vec_format(
    wv: WordVectors,
    path: str | os.PathLike[str],
    *,
    binary: bool = False,
    header: bool = True,
) -> None:
    """Write word2vec text (or binary with ``binary=True``); ``header=False`` writes GloVe.

    Text values carry nine significant digits, so every float32 loads back exactly.
    Binary output has gensim's layout plus word2vec.c's newline after each vector, which
    both tools read. A name ending in ``.gz`` is gzip-compressed. The file is written
    beside its destination and moved into place when complete.

    Example:
        >>> import numpy as np
        >>> wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
        >>> save_word2vec_format(wv, "vectors.bin", binary=True)  # doctest: +SKIP
    """
    if binary and not header:
        raise InvalidParameterError("binary word2vec files always have a header; pass header=True")
    _check_keys(wv.keys)
    with atomic_binary_writer(Path(path)) as stream:
        if binary:
            write_binary(stream, wv.keys, wv.vectors)
        else:
            write_text(stream, wv.keys, wv.vectors, header=header)


def save_glove_format(wv: WordVectors, path: str | os.PathLike[str]) -> None:
    """Write GloVe text: word2vec text without the "count dim" header line.

    Example:
        >>> save_glove_format(wv, "glove.txt")  # doctest: +SKIP
    """
    save_word2vec_format(wv, path, binary=False, header=False)


def _check_keys(keys: Sequence[str]) -> None:
    """Keys are separated from values by whitespace, so they cannot contain any."""
    for i, key in enumerate(keys):
        if not key or _SEPARATOR.search(key):
            raise InvalidParameterError(
                f"key {i} ({key!r}) cannot be written in word2vec formats: keys must be "
                "non-empty and contain no spaces, tabs or line breaks"
            )

"""Every vector format by name, with detection: the entry points the CLI's convert uses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from embedlab._validation import StrEnumOption, check_int, check_readable_file
from embedlab.errors import InvalidParameterError, MissingFileError
from embedlab.io._fasttext_bin import is_fasttext_bin, load_fasttext_bin
from embedlab.io._files import check_output_path
from embedlab.io._folder import (
    CONFIG_FILE,
    Subworded,
    check_folder_path,
    load_folder,
    save_folder,
)
from embedlab.io._sniff import sniff
from embedlab.io._word2vec import load_word2vec_format, save_word2vec_format
from embedlab.vectors import WordVectors

__all__ = ["VectorFormat", "detect_format", "load_vectors", "save_vectors"]


class VectorFormat(StrEnumOption):
    """The formats word vectors can be loaded from and saved to."""

    EMBEDLAB = "embedlab"  # folder: config.json + vectors.npy + vocab.txt
    WORD2VEC = "word2vec"  # text with a "count dim" header (also fastText .vec)
    WORD2VEC_BIN = "word2vec-bin"  # word2vec binary
    GLOVE = "glove"  # text without a header
    FASTTEXT_BIN = "fasttext-bin"  # Facebook fastText .bin model (loading only)


def detect_format(path: str | os.PathLike[str]) -> VectorFormat:
    """Which format path holds: a folder with config.json, or what its first bytes say.

    A file starting with fastText's magic number (int32 793712314) is a fastText ``.bin``.

    Example:
        >>> detect_format("glove.6B.50d.txt")  # doctest: +SKIP
        <VectorFormat.GLOVE: 'glove'>
    """
    target = Path(path)
    if target.is_dir():
        if not (target / CONFIG_FILE).is_file():
            raise MissingFileError(
                f"{target} is a folder without {CONFIG_FILE}, not an embedlab folder"
            )
        return VectorFormat.EMBEDLAB
    file = check_readable_file(target, what="vector file")
    if is_fasttext_bin(file):
        return VectorFormat.FASTTEXT_BIN
    sniffed = sniff(file)
    if sniffed.header is None:
        return VectorFormat.GLOVE
    return VectorFormat.WORD2VEC_BIN if sniffed.binary else VectorFormat.WORD2VEC


def load_vectors(
    path: str | os.PathLike[str],
    *,
    format: VectorFormat | str | None = None,
    limit: int | None = None,
) -> WordVectors:
    """Load word vectors in any supported format, detected when ``format`` is None.

    ``limit`` keeps the first vectors only (for a folder, the first rows of the matrix);
    a subword model (fastText ``.bin``, or a folder holding one) keeps all its n-gram
    rows, so words out of the kept vocabulary are still composed.

    Example:
        >>> wv = load_vectors("model")  # an embedlab folder  # doctest: +SKIP
        >>> wv = load_vectors("vectors.bin", limit=50_000)  # doctest: +SKIP
    """
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    if not Path(path).exists():
        raise MissingFileError(f"vectors not found: {path}")
    kind = detect_format(path) if format is None else VectorFormat.parse(format, name="format")
    if kind is VectorFormat.EMBEDLAB:
        if limit is None:
            return load_folder(path)
        return _head(load_folder(path, mmap=True), limit)
    if kind is VectorFormat.FASTTEXT_BIN:
        full = load_fasttext_bin(path)
        return full if limit is None else _head(full, limit)
    binary = kind is VectorFormat.WORD2VEC_BIN
    return load_word2vec_format(path, binary=binary, limit=limit)


def check_save_path(path: str | os.PathLike[str], format: VectorFormat | str) -> Path:
    """Check, before any work, that :func:`save_vectors` could write ``format`` at path.

    Example:
        >>> check_save_path("vectors.bin", "word2vec-bin")  # doctest: +SKIP
        PosixPath('vectors.bin')
    """
    kind = VectorFormat.parse(format, name="format")
    if kind is VectorFormat.EMBEDLAB:
        return check_folder_path(path)
    return check_output_path(path, folder=False)


def save_vectors(
    wv: WordVectors,
    path: str | os.PathLike[str],
    *,
    format: VectorFormat | str = VectorFormat.EMBEDLAB,
) -> None:
    """Save word vectors in the named format (an embedlab folder by default).

    Example:
        >>> save_vectors(wv, "vectors.txt", format="word2vec")  # doctest: +SKIP
    """
    kind = VectorFormat.parse(format, name="format")
    if kind is VectorFormat.FASTTEXT_BIN:
        raise InvalidParameterError(
            "saving the fastText .bin format is not supported; save as 'embedlab' (keeps the "
            "subword rows) or 'word2vec' (a .vec file of the composed vectors)"
        )
    if kind is VectorFormat.EMBEDLAB:
        save_folder(wv, path)
    elif kind is VectorFormat.GLOVE:
        save_word2vec_format(wv, path, header=False)
    else:
        save_word2vec_format(wv, path, binary=kind is VectorFormat.WORD2VEC_BIN)


def _head(wv: WordVectors, limit: int) -> WordVectors:
    """The first limit keys, in memory; a subword model keeps all its n-gram rows."""
    counts = None if wv.counts is None else wv.counts[:limit]
    if isinstance(wv, Subworded):
        arrays = {name: np.array(array) for name, array in wv.subword_arrays().items()}
        arrays["vectors_vocab"] = arrays["vectors_vocab"][:limit]
        return type(wv).from_subwords(
            wv.keys[:limit], arrays, wv.subword_config(), counts=counts, config=wv.config
        )
    return WordVectors(wv.keys[:limit], wv.vectors[:limit].copy(), counts=counts, config=wv.config)
